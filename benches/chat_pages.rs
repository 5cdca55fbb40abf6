//! 100 chat pages open at once, each following its conversation over
//! Server-Sent Events (`GET /chat/{id}/updates`, what `/chat.js` reads):
//! how long after the consumer's sign-in callback does each page receive
//! the event carrying the answer? A load figure, not a test: nothing here
//! asserts a time; it prints the figures and whether every page saw its
//! answer within a second.
//!
//! Run with `cargo bench --bench chat_pages` (release; see
//! benches/README.md). Arguments after `--`: the number of pages (100) and
//! of rounds (3), e.g. `cargo bench --bench chat_pages -- 200 5`.
//!
//! In one process, on the tokio runtime's default workers, over loopback
//! HTTP: the mock IdP, the mock brand API and the reference platform (as
//! `standin up` wires them, free ports, one clock), and the load: for each
//! page a conversation (`POST /api/conversations`), the page
//! (`GET /chat/{id}`), its events stream held open, then "my orders"
//! (`POST .../messages`) whose reply carries the sign-in link, and a
//! consumer's browser ([`ConsumerAgent`], its own cookie jar) that signs in
//! as alice at the IdP (login form, consent when shown) and stops at the
//! redirect to the platform's callback without fetching it. All of that is
//! untimed. Then, per round, two ways:
//!
//! - `burst`: every page's callback is fetched at once (a barrier
//!   releases them), the worst case for the platform: 100 code exchanges,
//!   ID token checks and brand API calls at the same moment, and 100
//!   streams to write to;
//! - `one by one`: the callbacks one after another, every stream still
//!   open (each update of one conversation wakes every stream, which
//!   skips the others' changes).
//!
//! Per page it measures, on one monotonic clock: from sending the callback
//! to the stream's event carrying "Your orders" (the figure), and from the
//! callback's response to that event. The callback posts the answer before
//! it answers the browser, so the second is usually negative: the page has
//! the answer before the sign-in tab has its "return to the chat" page.

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::start;
use serde_json::{Value, json};
use standin::conformance::agent::{ConsumerAgent, FormHints, Landing};
use standin::stack::Stack;
use tokio::sync::{Barrier, oneshot};
use url::Url;

/// What the answer's event carries.
const ANSWER: &str = "Your orders: 1001";

async fn json(r: reqwest::RequestBuilder) -> Value {
    r.send()
        .await
        .expect("request")
        .error_for_status()
        .expect("a 2xx answer")
        .json()
        .await
        .expect("a JSON answer")
}

/// Read the page's events stream; when an event carries the answer, send
/// the moment it arrived and how many events and bytes the page had
/// received, then keep the stream open (reading it) until aborted.
async fn follow(mut stream: reqwest::Response, answered: oneshot::Sender<(Instant, usize, usize)>) {
    let (mut buffer, mut events, mut bytes) = (String::new(), 0, 0);
    let mut answered = Some(answered);
    while let Ok(Some(chunk)) = stream.chunk().await {
        if answered.is_none() {
            continue;
        }
        bytes += chunk.len();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        // Events end with a blank line (a newline in the HTML starts
        // another `data:` line, never a blank one).
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if event.starts_with(':') {
                continue; // keep-alive comment
            }
            events += 1;
            if event.contains(ANSWER)
                && let Some(tx) = answered.take()
            {
                let _ = tx.send((Instant::now(), events, bytes));
                buffer.clear();
                break;
            }
        }
    }
}

/// One page, ready: its stream followed, its callback URL waiting.
struct Page {
    callback: Url,
    answered: oneshot::Receiver<(Instant, usize, usize)>,
    stream: tokio::task::JoinHandle<()>,
}

/// `n` pages: conversation, page, stream, link, sign-in up to the
/// callback. Concurrently, untimed.
async fn prepare(stack: &Stack, http: &reqwest::Client, n: usize) -> Vec<Page> {
    let base = stack.platform.url().to_string();
    let stop = format!("{base}/callback/");
    let pages = (0..n).map(|_| {
        let (base, stop, http) = (base.clone(), stop.clone(), http.clone());
        async move {
            let opened = json(
                http.post(format!("{base}/api/conversations"))
                    .json(&json!({"org": "demo", "bot": "demo-bot", "consumer_id": null})),
            )
            .await;
            let id = opened["id"].as_str().expect("an id").to_string();
            let page = http
                .get(format!("{base}/chat/{id}"))
                .send()
                .await
                .expect("the page");
            assert_eq!(page.status(), 200);
            page.text().await.expect("the page's HTML");
            let stream = http
                .get(format!("{base}/chat/{id}/updates"))
                .send()
                .await
                .expect("the events stream");
            assert_eq!(stream.status(), 200);
            let (tx, answered) = oneshot::channel();
            let stream = tokio::spawn(follow(stream, tx));
            let replied = json(
                http.post(format!("{base}/api/conversations/{id}/messages"))
                    .json(&json!({"text": "my orders"})),
            )
            .await;
            let link =
                Url::parse(replied["replies"][0]["link"].as_str().expect("a link")).expect("a URL");
            let mut agent = ConsumerAgent::new(FormHints::default()).expect("an agent");
            agent.stop_at(stop);
            let landing = agent.open(&link).await.expect("authorize");
            let login = landing.page().expect("the login page").clone();
            let mut landing = agent
                .sign_in(&login, "alice", "alice-password")
                .await
                .expect("login");
            if let Landing::Page(consent) = &landing {
                let consent = consent.clone();
                landing = agent.allow_consent(&consent).await.expect("consent");
            }
            let callback = landing
                .callback()
                .unwrap_or_else(|| panic!("no callback: {}", landing.describe()))
                .url
                .clone();
            Page {
                callback,
                answered,
                stream,
            }
        }
    });
    futures::future::join_all(pages).await
}

/// Per page: callback sent to answer (ms), callback answered to answer
/// (ms, negative when the answer came first), events and bytes received.
type Sample = (f64, f64, usize, usize);

/// Fetch the page's callback (after the barrier, when there is one) and
/// wait for its answer's event; the stream stays open, its task returned
/// to be aborted when the round ends.
async fn deliver(
    http: &reqwest::Client,
    page: Page,
    barrier: Option<Arc<Barrier>>,
) -> (Sample, tokio::task::JoinHandle<()>) {
    if let Some(b) = barrier {
        b.wait().await;
    }
    let sent = Instant::now();
    let r = http.get(page.callback).send().await.expect("the callback");
    let status = r.status();
    let body = r.text().await.expect("the callback page");
    let responded = Instant::now();
    assert!(
        status == 200 && body.contains("return to the chat"),
        "{status}: {body}"
    );
    let (answered, events, bytes) = page.answered.await.expect("the stream's answer");
    let ms = |later: Instant, earlier: Instant| match later.checked_duration_since(earlier) {
        Some(d) => d.as_secs_f64() * 1e3,
        None => -(earlier.duration_since(later).as_secs_f64() * 1e3),
    };
    (
        (ms(answered, sent), ms(answered, responded), events, bytes),
        page.stream,
    )
}

/// Close the round's streams; the samples.
fn end(delivered: Vec<(Sample, tokio::task::JoinHandle<()>)>) -> Vec<Sample> {
    delivered
        .into_iter()
        .map(|(sample, stream)| {
            stream.abort();
            sample
        })
        .collect()
}

/// Nearest-rank percentile of sorted `v`.
fn pct(v: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn report(name: &str, samples: &[Sample], wall: Duration) -> bool {
    let summary = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        format!(
            "min {:7.1}  median {:7.1}  p99 {:7.1}  max {:7.1} ms",
            v[0],
            pct(&v, 50.0),
            pct(&v, 99.0),
            v[v.len() - 1]
        )
    };
    let within = samples.iter().filter(|s| s.0 < 1000.0).count();
    let events: usize = samples.iter().map(|s| s.2).sum();
    let bytes: usize = samples.iter().map(|s| s.3).sum();
    println!(
        "{name:>10}: {} pages, wall {:.0} ms, {within} answered within 1 s of their callback",
        samples.len(),
        wall.as_secs_f64() * 1e3
    );
    println!(
        "{:>10}  callback sent -> answer event:      {}",
        "",
        summary(samples.iter().map(|s| s.0).collect())
    );
    println!(
        "{:>10}  callback response -> answer event:  {}",
        "",
        summary(samples.iter().map(|s| s.1).collect())
    );
    println!(
        "{:>10}  events per page {:.1}, bytes per page {:.0} (each event is the whole live part)",
        "",
        events as f64 / samples.len() as f64,
        bytes as f64 / samples.len() as f64
    );
    within == samples.len()
}

fn main() {
    let numbers: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .filter_map(|a| a.parse().ok())
        .collect();
    let pages = numbers.first().copied().unwrap_or(100);
    let rounds = numbers.get(1).copied().unwrap_or(3);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let ok = runtime.block_on(async {
        let stack = start().await;
        // One client for the pages, their streams and the callbacks: one
        // connection each, as many browsers would have.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(usize::MAX)
            .build()
            .expect("a client");
        println!(
            "chat_pages: {pages} pages at once, {rounds} rounds, {} tokio workers",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        // Warm-up, untimed: discovery, JWKS, connection pools.
        for p in prepare(&stack, &http, 2).await {
            end(vec![deliver(&http, p, None).await]);
        }
        let mut ok = true;
        for round in 1..=rounds {
            println!("round {round}");
            let ready = prepare(&stack, &http, pages).await;
            let barrier = Arc::new(Barrier::new(ready.len()));
            let started = Instant::now();
            let burst = futures::future::join_all(
                ready
                    .into_iter()
                    .map(|p| deliver(&http, p, Some(barrier.clone()))),
            )
            .await;
            let wall = started.elapsed();
            ok &= report("burst", &end(burst), wall);

            let ready = prepare(&stack, &http, pages).await;
            let started = Instant::now();
            let mut one_by_one = Vec::with_capacity(ready.len());
            for p in ready {
                one_by_one.push(deliver(&http, p, None).await);
            }
            let wall = started.elapsed();
            ok &= report("one by one", &end(one_by_one), wall);
        }
        ok
    });
    println!(
        "every page saw its answer within 1 s of its callback: {}",
        if ok { "yes" } else { "NO" }
    );
}
