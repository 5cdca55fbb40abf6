//! Latency of one full consumer-delegation flow, in process, over loopback
//! HTTP: the mock IdP, the mock brand API and the reference platform in
//! this process, sharing one clock.
//!
//! Run with `cargo bench --bench delegation` (see benches/README.md).
//!
//! One iteration is the whole flow of one new conversation, as the chat
//! front end and the consumer's browser see it:
//! 1. `POST /api/conversations` (org `demo`, bot `demo-bot`);
//! 2. `POST .../messages` "my orders": the dialog needs the Consumer
//!    Authentication credential, there is no token, the bot answers with
//!    the sign-in link;
//! 3. a fresh [`ConsumerAgent`] (empty cookie jar) opens the link at the
//!    IdP, gets the login form, submits alice's user name and password;
//! 4. `first_sign_in`: the IdP shows the consent page (the client has
//!    `consent = true`, and alice's consents are cleared before each
//!    iteration, untimed) and the agent presses "allow";
//!    `consent_remembered`: alice's consent is kept, so the login goes
//!    straight on;
//! 5. the agent follows the IdP's redirect to the platform's callback,
//!    which checks `state`, exchanges the code server to server (client
//!    secret, PKCE verifier; the IdP signs an RS256 access token and ID
//!    token), validates the ID token, calls `GET /api/orders` with the
//!    token (the API verifies it against the IdP's JWKS), posts the answer,
//!    and returns the "return to the chat" page;
//! 6. `GET .../transcript`: the answer is there ("Your orders: 1001 ...").
//!
//! Untimed, per iteration: building the agent (a `reqwest` client, about
//! 4 ms, mostly its TLS root store), clearing consents, and closing the
//! conversation afterwards. The caches the platform and the API keep
//! (discovery, JWKS, connection pools) are warm after the warm-up, as in
//! a running platform. Criterion's median is the figure to report
//! (`target/criterion/flow/*/new/estimates.json`).

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use serde_json::{Value, json};
use standin::conformance::agent::{ConsumerAgent, FormHints, Landing};
use standin::stack::Stack;
use url::Url;

struct World {
    stack: Stack,
    http: reqwest::Client,
}

impl World {
    fn idp(&self) -> &standin::MockIdp {
        self.stack.brand.idp.as_ref().expect("the embedded IdP")
    }
}

/// The three parties, as `standin up` wires them, on free ports.
async fn start() -> World {
    World {
        stack: common::start().await,
        http: reqwest::Client::new(),
    }
}

fn agent() -> ConsumerAgent {
    ConsumerAgent::new(FormHints::default()).expect("agent")
}

/// One flow; the conversation id, to close it afterwards.
async fn flow(w: &World, mut agent: ConsumerAgent, expect_consent: bool) -> String {
    let base = w.stack.platform.url();
    let opened: Value = w
        .http
        .post(format!("{base}/api/conversations"))
        .json(&json!({"org": "demo", "bot": "demo-bot", "consumer_id": "alice"}))
        .send()
        .await
        .expect("open")
        .json()
        .await
        .expect("open json");
    let conv = opened["id"].as_str().expect("conversation id").to_string();
    let replied: Value = w
        .http
        .post(format!("{base}/api/conversations/{conv}/messages"))
        .json(&json!({"text": "my orders"}))
        .send()
        .await
        .expect("say")
        .json()
        .await
        .expect("say json");
    let link = Url::parse(replied["replies"][0]["link"].as_str().expect("a link")).expect("URL");

    let landing = agent.open(&link).await.expect("authorize");
    let login = landing.page().expect("login page").clone();
    let mut landing = agent
        .sign_in(&login, "alice", "alice-password")
        .await
        .expect("login");
    if expect_consent {
        let consent = landing.page().expect("consent page").clone();
        landing = agent.allow_consent(&consent).await.expect("consent");
    }
    let Landing::Page(done) = landing else {
        panic!("stopped at a redirect")
    };
    assert!(
        done.status == 200 && done.html.contains("Thank you"),
        "{}",
        done.describe()
    );

    let transcript: Value = w
        .http
        .get(format!("{base}/api/conversations/{conv}/transcript"))
        .send()
        .await
        .expect("transcript")
        .json()
        .await
        .expect("transcript json");
    let answer = transcript["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["from"] == "bot"))
        .and_then(|m| m["text"].as_str())
        .unwrap_or_default();
    assert!(answer.starts_with("Your orders: 1001"), "{answer}");
    conv
}

async fn close(w: &World, conv: &str) {
    let r = w
        .http
        .delete(format!(
            "{}/api/conversations/{conv}",
            w.stack.platform.url()
        ))
        .send()
        .await
        .expect("close");
    assert_eq!(r.status(), 204);
}

fn delegation(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let world = runtime.block_on(start());
    let mut group = c.benchmark_group("flow");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(60);
    for (name, consent) in [("first_sign_in", true), ("consent_remembered", false)] {
        // One untimed flow: warm caches; a remembered consent for the
        // second case.
        runtime.block_on(async {
            world.idp().control().store().consents.clear();
            let conv = flow(&world, agent(), true).await;
            close(&world, &conv).await;
        });
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    if consent {
                        world.idp().control().store().consents.clear();
                    }
                    let a = agent();
                    let started = Instant::now();
                    let conv = runtime.block_on(flow(&world, a, consent));
                    total += started.elapsed();
                    runtime.block_on(close(&world, &conv));
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
    targets = delegation
}
criterion_main!(benches);
