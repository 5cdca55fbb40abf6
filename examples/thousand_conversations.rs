//! N conversations (default 1,000) running the whole consumer-delegation
//! flow at once, in one process, over loopback HTTP; then a check, from the
//! brand API's request log, that no conversation's request ever carried
//! another conversation's token.
//!
//! ```sh
//! cargo run --release --example thousand_conversations            # N = 1000
//! cargo run --release --example thousand_conversations -- 200 --distinct-users
//! ```
//!
//! Arguments: `N` (number of conversations); `--distinct-users` (each
//! conversation signs in as its own user, added to the IdP at run time,
//! instead of alternating alice and bob); `--cold` (no warm-up flow before
//! the timed run, so the platform's discovery cache, the brand API's JWKS
//! cache and the connection pools start empty).
//!
//! # What runs
//!
//! The mock IdP, the mock brand API (`MockBrandApi`) and the reference
//! platform start in this process on 127.0.0.1 through the library's
//! `start_with` (as `standin up` starts them), sharing one clock, on the
//! tokio runtime's default worker threads (one per core). The IdP gets a
//! client `bench-bot` shaped like the fixtures' `demo-bot` (confidential,
//! consent required, RS256 JWT access tokens, refresh tokens issued) whose
//! redirect URI is this platform's callback; the platform's organisation
//! `demo` uses it through discovery.
//!
//! Each conversation `i`, all started together:
//! 1. opens a conversation (`POST /api/conversations`, consumer `c-{i}`);
//! 2. says `order o-{i}`: the bot's dialog calls
//!    `GET {api}/api/orders/{order_id}` with the Consumer Authentication
//!    credential, has no token, and answers with the sign-in link;
//! 3. its own browser (a [`ConsumerAgent`]: own cookie jar, redirects
//!    followed by hand, HTML forms read and submitted) opens the link, fills
//!    the IdP's login form, presses "allow" on the consent page if one is
//!    shown, and follows the redirect to the platform's callback, which
//!    exchanges the code, calls the API and posts the answer before
//!    answering the browser with the "return to the chat" page;
//! 4. reads the transcript: the last bot message must be order `o-{i}`.
//!
//! The wall time runs from the moment all N flows are released to the
//! moment the last one has read its answer. The consumer agents (one
//! `reqwest` client each) are built before that.
//!
//! # The cross-conversation check
//!
//! Two independent facts are joined for every request in the brand API's
//! request log (`MockBrandApi::control().requests()`: path, `token_id`,
//! `sub`, status):
//!
//! - **which conversation made the request**: conversation `i` is the only
//!   one that asked for order `o-{i}`, and the platform builds the URL
//!   from the message of the conversation whose integration it runs, so
//!   the path `/api/orders/o-{i}` names the conversation the platform was
//!   serving when it sent the request;
//! - **which conversation the token was issued for**: the link the bot
//!   posted in conversation `i` carries a PKCE `code_challenge` and a
//!   `nonce` made for that challenge only. The IdP records both with the
//!   authorization code it issues for that authorization request, and the
//!   ids of the access tokens minted from the code (one per code). So
//!   conversation `i`'s token id is the one the IdP minted from the code
//!   whose challenge and nonce are those of conversation `i`'s link.
//!
//! The check fails unless: every conversation's link matches exactly one
//! code, exchanged once, which minted exactly one access token, and no two
//! conversations got the same token; every API request's path names a
//! conversation and its `token_id` is the one issued for that same
//! conversation (so a token is never seen in another conversation's
//! requests); each conversation made exactly one request, answered 200,
//! with the `sub` of the user who signed in for it; no refresh token was
//! ever presented; every answer names the conversation's own order.
//!
//! A check that could not fail would prove nothing, so after the real check
//! the same function runs on two doctored copies of the log, one with two
//! requests' token ids swapped (each token used once, but by the other
//! conversation: the case a count would miss) and one with a request
//! carrying another conversation's token; both must be reported.
//!
//! The program exits with status 1 if any flow failed or any check failed.

use std::collections::{HashMap, HashSet};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use standin::brand_api::{
    Amount, BrandApiFixtures, BrandApiState, ConsumerData, Order, RequestLogEntry,
};
use standin::conformance::agent::{ConsumerAgent, FormHints, Landing, Page};
use standin::idp::admin::NewUser;
use standin::idp::{IdpState, TokenId};
use standin::platform::{PlatformFixtures, PlatformOptions, PlatformState};
use standin::secret::Secret;
use standin::stack::{Brand, BrandOptions, Stack};
use url::Url;

const CLIENT_ID: &str = "bench-bot";
const CLIENT_SECRET: &str = "bench-bot-secret";
const ALICE_SUB: &str = "c0ffee00-a11c-4e00-8000-000000000001";
const BOB_SUB: &str = "c0ffee00-b0b0-4e00-8000-000000000002";

struct Args {
    n: usize,
    distinct_users: bool,
    cold: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        n: 1000,
        distinct_users: false,
        cold: false,
    };
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--distinct-users" => args.distinct_users = true,
            "--cold" => args.cold = true,
            "-h" | "--help" => {
                return Err(
                    "usage: thousand_conversations [N] [--distinct-users] [--cold]".to_string(),
                );
            }
            n => {
                args.n = n
                    .parse()
                    .ok()
                    .filter(|&n| n >= 2)
                    .ok_or_else(|| format!("N must be a number >= 2, not {n:?}"))?;
            }
        }
    }
    Ok(args)
}

/// Who signs in for a conversation.
#[derive(Clone)]
struct User {
    username: String,
    password: String,
    sub: String,
}

fn user_for(i: usize, distinct: bool) -> User {
    if distinct {
        User {
            username: format!("user-{i}"),
            password: format!("password-{i}"),
            sub: format!("sub-{i:05}"),
        }
    } else if i % 2 == 0 {
        User {
            username: "alice".into(),
            password: "alice-password".into(),
            sub: ALICE_SUB.into(),
        }
    } else {
        User {
            username: "bob".into(),
            password: "bob-password".into(),
            sub: BOB_SUB.into(),
        }
    }
}

/// Conversation `i`'s order; the warm-up flow uses `o-warm`.
fn order_id(i: usize) -> String {
    format!("o-{i}")
}

fn order(id: &str) -> Order {
    Order {
        id: id.to_string(),
        status: "shipped".into(),
        currency: "GBP".into(),
        total: Amount::from_cents(1250),
        placed_at: None,
        items: Vec::new(),
    }
}

/// The brand API's data: alice and bob as in the fixtures, each owning the
/// orders of the conversations they sign in for; or one consumer per
/// conversation.
fn resource_fixtures(n: usize, distinct: bool) -> BrandApiFixtures {
    let mut fixtures = BrandApiFixtures::default_brand();
    if distinct {
        for i in 0..n {
            fixtures.consumers.push(ConsumerData {
                sub: user_for(i, true).sub,
                profile: Default::default(),
                orders: vec![order(&order_id(i))],
            });
        }
    } else {
        for c in &mut fixtures.consumers {
            for i in 0..n {
                if user_for(i, false).sub == c.sub {
                    c.orders.push(order(&order_id(i)));
                }
            }
        }
    }
    let alice = fixtures
        .consumers
        .iter_mut()
        .find(|c| c.sub == ALICE_SUB)
        .expect("alice in the fixtures");
    alice.orders.push(order("o-warm"));
    fixtures.validate().expect("generated fixtures are valid");
    fixtures
}

fn platform_fixtures(issuer: &str, api: &str) -> PlatformFixtures {
    let toml = format!(
        r#"
[[orgs]]
id = "demo"
[orgs.provider]
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"

[[bots]]
id = "demo-bot"
fallback = "Say order N."

[[bots.dialogs]]
name = "one-order"
triggers = ["order {{order_id}}"]
[bots.dialogs.integration]
name = "get-order"
method = "GET"
url = "{api}/api/orders/{{order_id}}"
credential = "brand-login"
headers = {{ Accept = "application/json" }}
[bots.dialogs.answer]
text = "Order {{/id}}: {{/status}}, total {{/total}} {{/currency}}."
"#
    );
    PlatformFixtures::from_toml(&toml, "thousand_conversations").expect("fixtures parse")
}

/// The three parties and the chat front end's HTTP client.
struct World {
    idp: IdpState,
    api: BrandApiState,
    platform: PlatformState,
    http: reqwest::Client,
    /// The running servers; dropping them stops them.
    _parties: Box<Stack>,
}

async fn start(n: usize, distinct: bool) -> anyhow::Result<World> {
    let mut brand_options = BrandOptions::default();
    brand_options.api.fixtures = resource_fixtures(n, distinct);
    let stack = Brand::start(brand_options)
        .await?
        .with_platform(PlatformOptions::default(), |urls| {
            platform_fixtures(&urls.issuer, &urls.api)
        })
        .await?;
    let idp = stack
        .brand
        .idp
        .as_ref()
        .expect("the embedded IdP")
        .control()
        .clone();
    let api = stack.brand.api.control().clone();
    let platform = stack.platform.state().clone();
    // Shaped like the fixtures' demo-bot, with this platform's callback.
    stack.register_platform_client(CLIENT_ID, CLIENT_SECRET, &["demo"])?;
    if distinct {
        for i in 0..n {
            let u = user_for(i, true);
            idp.add_user(NewUser {
                username: u.username,
                password: Secret::new(u.password),
                sub: Some(u.sub),
                claims: Default::default(),
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    let link = stack.consumer_auth_link(
        "demo",
        CLIENT_ID,
        "openid profile orders:read payments:write",
    );
    platform
        .add_consumer_auth("demo", "brand-login", &link)
        .map_err(|e| anyhow::anyhow!("credential refused: {e:?}"))?;
    Ok(World {
        idp,
        api,
        platform,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?,
        _parties: Box::new(stack),
    })
}

/// The steps of one flow, timed.
const PHASES: [&str; 5] = [
    "open + ask -> link",
    "open link -> login form",
    "submit login -> consent form",
    "allow (or login) -> callback page",
    "read transcript",
];

struct Flow {
    conversation: String,
    link: Url,
    answer: String,
    consent_shown: bool,
    phases: [Duration; 5],
    total: Duration,
}

fn err(step: &str, e: impl std::fmt::Display) -> String {
    format!("{step}: {e}")
}

async fn api_json(r: reqwest::RequestBuilder, step: &str) -> Result<Value, String> {
    let r = r.send().await.map_err(|e| err(step, e))?;
    let status = r.status();
    let body: Value = r.json().await.map_err(|e| err(step, e))?;
    if !status.is_success() {
        return Err(format!("{step}: {status} {body}"));
    }
    Ok(body)
}

fn expect_page<'l>(landing: &'l Landing, step: &str) -> Result<&'l Page, String> {
    landing
        .page()
        .ok_or_else(|| format!("{step}: landed on {}", landing.describe()))
}

/// One conversation through the whole flow.
async fn run_flow(
    world: &World,
    agent: &mut ConsumerAgent,
    user: &User,
    order: &str,
) -> Result<Flow, String> {
    let base = world.platform.url();
    let started = Instant::now();
    // When each step ended.
    let mut marks = [started; 5];

    let opened = api_json(
        world
            .http
            .post(format!("{base}/api/conversations"))
            .json(&json!({"org": "demo", "bot": "demo-bot", "consumer_id": format!("c-{order}")})),
        "open",
    )
    .await?;
    let conversation = opened["id"].as_str().ok_or("open: no id")?.to_string();
    let replied = api_json(
        world
            .http
            .post(format!("{base}/api/conversations/{conversation}/messages"))
            .json(&json!({ "text": format!("order {order}") })),
        "ask",
    )
    .await?;
    let link = replied["replies"][0]["link"]
        .as_str()
        .ok_or_else(|| format!("ask: no link in {replied}"))?;
    let link = Url::parse(link).map_err(|e| err("link", e))?;
    marks[0] = Instant::now();

    let landing = agent.open(&link).await.map_err(|e| err("authorize", e))?;
    let login = expect_page(&landing, "authorize")?;
    marks[1] = Instant::now();
    let mut landing = agent
        .sign_in(login, &user.username, &user.password)
        .await
        .map_err(|e| err("login", e))?;
    marks[2] = Instant::now();
    let mut consent_shown = false;
    let page = expect_page(&landing, "login")?;
    if page
        .form_with_button(&agent.hints().allow_button)
        .map_err(|e| err("consent", e))?
        .is_some()
    {
        consent_shown = true;
        landing = agent
            .allow_consent(page)
            .await
            .map_err(|e| err("consent", e))?;
    } else {
        // No consent page: the login itself went on to the callback.
        marks[2] = marks[1];
    }
    marks[3] = Instant::now();
    let done = expect_page(&landing, "callback")?;
    if done.status != 200
        || !done.url.path().starts_with("/callback/")
        || !done.html.contains("Thank you")
    {
        return Err(format!("callback: {}", done.describe()));
    }

    let transcript = api_json(
        world.http.get(format!(
            "{base}/api/conversations/{conversation}/transcript"
        )),
        "transcript",
    )
    .await?;
    let answer = transcript["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["from"] == "bot"))
        .and_then(|m| m["text"].as_str())
        .unwrap_or_default()
        .to_string();
    marks[4] = Instant::now();
    let mut phases = [Duration::ZERO; 5];
    let mut previous = started;
    for (phase, mark) in phases.iter_mut().zip(marks) {
        *phase = mark - previous;
        previous = mark;
    }
    Ok(Flow {
        conversation,
        link,
        answer,
        consent_shown,
        phases,
        total: marks[4] - started,
    })
}

fn agent() -> ConsumerAgent {
    ConsumerAgent::new(FormHints::default()).expect("a consumer agent")
}

/// What the IdP recorded for one authorization code.
struct CodeInfo {
    challenge: Option<String>,
    nonce: Option<String>,
    presented: u32,
    sub: String,
    access_tokens: Vec<String>,
}

/// What the check knows of one conversation.
struct ConvFacts {
    index: usize,
    order: String,
    sub: String,
    link: Url,
    answer: String,
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Every violation of the no-cross-use rules; empty when all hold.
fn check(convs: &[ConvFacts], codes: &[CodeInfo], log: &[RequestLogEntry]) -> Vec<String> {
    let mut bad = Vec::new();
    // The token issued for each conversation, through its link's PKCE
    // challenge and nonce.
    let mut issued: HashMap<&str, usize> = HashMap::new();
    let mut by_path: HashMap<String, usize> = HashMap::new();
    for (k, c) in convs.iter().enumerate() {
        by_path.insert(format!("/api/orders/{}", c.order), k);
        let challenge = param(&c.link, "code_challenge");
        let nonce = param(&c.link, "nonce");
        let matching: Vec<&CodeInfo> = codes
            .iter()
            .filter(|code| challenge.is_some() && code.challenge == challenge)
            .collect();
        let [code] = matching[..] else {
            bad.push(format!(
                "conversation {}: {} codes carry its link's PKCE challenge",
                c.index,
                matching.len()
            ));
            continue;
        };
        if code.nonce != nonce {
            bad.push(format!(
                "conversation {}: its code's nonce is not its link's",
                c.index
            ));
        }
        if code.presented != 1 {
            bad.push(format!(
                "conversation {}: its code was presented {} times",
                c.index, code.presented
            ));
        }
        if code.sub != c.sub {
            bad.push(format!(
                "conversation {}: its code is for {}, not {}",
                c.index, code.sub, c.sub
            ));
        }
        let [token] = &code.access_tokens[..] else {
            bad.push(format!(
                "conversation {}: its code minted {} access tokens",
                c.index,
                code.access_tokens.len()
            ));
            continue;
        };
        if let Some(other) = issued.insert(token.as_str(), k) {
            bad.push(format!(
                "conversations {} and {} were issued the same token",
                convs[other].index, c.index
            ));
        }
    }
    // Every request: the conversation that made it (path) must be the one
    // its token was issued for.
    let mut requests = vec![0usize; convs.len()];
    for (n, e) in log.iter().enumerate() {
        let Some(&by) = by_path.get(&e.path) else {
            bad.push(format!(
                "request {n} ({} {}) names no conversation",
                e.method, e.path
            ));
            continue;
        };
        requests[by] += 1;
        let made_by = convs[by].index;
        match e.token_id.as_deref().map(|t| issued.get(t)) {
            None => bad.push(format!(
                "conversation {made_by}: request {n} carried no token"
            )),
            Some(None) => bad.push(format!(
                "conversation {made_by}: request {n} carried a token issued for no conversation"
            )),
            Some(Some(&owner)) if owner != by => bad.push(format!(
                "CROSS-USE: conversation {made_by}'s request {n} carried the token issued for conversation {}",
                convs[owner].index
            )),
            Some(Some(_)) => {}
        }
        if e.sub.as_deref() != Some(convs[by].sub.as_str()) {
            bad.push(format!(
                "conversation {made_by}: request {n} acted for sub {:?}, not {}",
                e.sub, convs[by].sub
            ));
        }
        if e.status != 200 {
            bad.push(format!(
                "conversation {made_by}: request {n} answered {}",
                e.status
            ));
        }
    }
    for (k, c) in convs.iter().enumerate() {
        if requests[k] != 1 {
            bad.push(format!(
                "conversation {}: {} API requests, expected 1",
                c.index, requests[k]
            ));
        }
        if !c.answer.starts_with(&format!("Order {}:", c.order)) {
            bad.push(format!(
                "conversation {}: answer {:?} is not about its order {}",
                c.index, c.answer, c.order
            ));
        }
    }
    bad
}

/// The check must catch a cross-use that keeps every count right (two
/// tokens swapped) and one that does not (a token used twice).
fn check_detects_cross_use(
    convs: &[ConvFacts],
    codes: &[CodeInfo],
    log: &[RequestLogEntry],
) -> Result<(), String> {
    if log.len() < 2 {
        return Err("fewer than two requests to doctor".into());
    }
    let mut swapped = log.to_vec();
    let (a, b) = (0, swapped.len() - 1);
    let t = swapped[a].token_id.clone();
    swapped[a].token_id = swapped[b].token_id.clone();
    swapped[b].token_id = t;
    let found = check(convs, codes, &swapped);
    if found.iter().filter(|v| v.starts_with("CROSS-USE")).count() != 2 {
        return Err(format!("a swap of two tokens gave {found:?}"));
    }
    let mut reused = log.to_vec();
    reused[a].token_id = reused[b].token_id.clone();
    let found = check(convs, codes, &reused);
    if found.iter().filter(|v| v.starts_with("CROSS-USE")).count() != 1 {
        return Err(format!("a token used twice gave {found:?}"));
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// This process's user and system CPU time (Linux; 100 ticks a second).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let n = args.n;
    let workers = std::thread::available_parallelism().map_or(1, |p| p.get());
    println!(
        "{n} conversations, {} users, {workers} runtime worker threads, {}",
        if args.distinct_users {
            "distinct"
        } else {
            "alice/bob"
        },
        if args.cold {
            "cold"
        } else {
            "after one warm-up flow"
        }
    );
    let setup = Instant::now();
    let world = Arc::new(start(n, args.distinct_users).await?);
    println!("setup (three parties, fixtures): {}", ms(setup.elapsed()));

    if !args.cold {
        let alice = user_for(0, false);
        let flow = run_flow(&world, &mut agent(), &alice, "o-warm")
            .await
            .map_err(|e| anyhow::anyhow!("warm-up flow: {e}"))?;
        println!("warm-up flow: {}", ms(flow.total));
        // Let the warm-up's consent not count: every user starts unconsented.
        world.idp.store().consents.clear();
        world.api.clear_requests();
    }
    let codes_before: HashSet<TokenId> = world
        .idp
        .store()
        .records
        .codes()
        .map(|(id, _)| *id)
        .collect();

    let t = Instant::now();
    let agents: Vec<ConsumerAgent> = (0..n).map(|_| agent()).collect();
    println!(
        "{n} consumer agents (cookie jars) built in {} (not timed below)",
        ms(t.elapsed())
    );

    let gate = Arc::new(tokio::sync::Barrier::new(n + 1));
    let mut tasks = Vec::with_capacity(n);
    for (i, mut agent) in agents.into_iter().enumerate() {
        let world = world.clone();
        let gate = gate.clone();
        let user = user_for(i, args.distinct_users);
        tasks.push(tokio::spawn(async move {
            gate.wait().await;
            let flow = run_flow(&world, &mut agent, &user, &order_id(i)).await;
            // The agent goes back to be dropped after the timed window:
            // dropping a reqwest client (its TLS root store) is not the
            // system's work.
            (i, user, flow, agent)
        }));
    }
    let cpu_before = cpu_time();
    gate.wait().await;
    let wall_start = Instant::now();
    let mut results = Vec::with_capacity(n);
    let mut agents = Vec::with_capacity(n);
    for task in tasks {
        let (i, user, flow, agent) = task.await?;
        results.push((i, user, flow));
        agents.push(agent);
    }
    let wall = wall_start.elapsed();
    let cpu = cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    drop(agents);

    let mut failures = Vec::new();
    let mut flows = Vec::new();
    let mut facts = Vec::new();
    for (i, user, flow) in results {
        match flow {
            Ok(f) => {
                facts.push(ConvFacts {
                    index: i,
                    order: order_id(i),
                    sub: user.sub,
                    link: f.link.clone(),
                    answer: f.answer.clone(),
                });
                flows.push(f);
            }
            Err(e) => failures.push(format!("conversation {i}: {e}")),
        }
    }

    println!("\nwall time, {n} flows at once: {}", ms(wall));
    if let Some(cpu) = cpu {
        println!(
            "process CPU time in that window: {:.2} s ({:.0} % of {workers} cores)",
            cpu.as_secs_f64(),
            100.0 * cpu.as_secs_f64() / (wall.as_secs_f64() * workers as f64)
        );
    }
    println!(
        "completed: {} of {n}; consent page shown in {}",
        flows.len(),
        flows.iter().filter(|f| f.consent_shown).count()
    );
    if !flows.is_empty() {
        let mut totals: Vec<Duration> = flows.iter().map(|f| f.total).collect();
        totals.sort();
        println!(
            "per-flow latency (open conversation -> answer read): p50 {}  p90 {}  p99 {}  max {}",
            ms(percentile(&totals, 50.0)),
            ms(percentile(&totals, 90.0)),
            ms(percentile(&totals, 99.0)),
            ms(percentile(&totals, 100.0)),
        );
        println!("per-step median and p99 (a step absent from a flow counts as 0):");
        for (k, name) in PHASES.iter().enumerate() {
            let mut d: Vec<Duration> = flows.iter().map(|f| f.phases[k]).collect();
            d.sort();
            println!(
                "  {name:<36} p50 {:>10}  p99 {:>10}",
                ms(percentile(&d, 50.0)),
                ms(percentile(&d, 99.0))
            );
        }
        let conv_ids: HashSet<&str> = flows.iter().map(|f| f.conversation.as_str()).collect();
        if conv_ids.len() != flows.len() {
            failures.push("two flows got the same conversation id".into());
        }
    }

    // The check, from the IdP's records and the brand API's request log.
    let codes: Vec<CodeInfo> = {
        let store = world.idp.store();
        let records = &store.records;
        records
            .codes()
            .filter(|(id, _)| !codes_before.contains(*id))
            .map(|(_, c)| CodeInfo {
                challenge: c.pkce.as_ref().map(|p| p.challenge.clone()),
                nonce: c.nonce.clone(),
                presented: c.presented,
                sub: records.text(c.sub).to_string(),
                access_tokens: c.access_tokens.iter().map(ToString::to_string).collect(),
            })
            .collect()
    };
    let log = world.api.requests();
    let grants = world.idp.grants();
    let refresh_presented = grants
        .refresh_tokens
        .iter()
        .filter(|r| r.presented > 0)
        .count();
    let mut violations = check(&facts, &codes, &log);
    if refresh_presented > 0 {
        violations.push(format!("{refresh_presented} refresh tokens were presented"));
    }
    let token_ids: HashSet<&str> = log.iter().filter_map(|e| e.token_id.as_deref()).collect();
    println!(
        "\ncross-conversation check: {} API requests, {} distinct token ids, {} codes, {} refresh tokens issued ({refresh_presented} presented)",
        log.len(),
        token_ids.len(),
        codes.len(),
        grants.refresh_tokens.len()
    );
    let detects = check_detects_cross_use(&facts, &codes, &log);

    let mut ok = true;
    if failures.is_empty() {
        println!("flows: all {n} reached their answer");
    } else {
        ok = false;
        println!("flows: {} FAILED, first ones:", failures.len());
        for f in failures.iter().take(10) {
            println!("  {f}");
        }
    }
    if violations.is_empty() {
        println!(
            "no cross-conversation token use: every request carried the token issued for the conversation that made it"
        );
    } else {
        ok = false;
        println!("{} VIOLATIONS, first ones:", violations.len());
        for v in violations.iter().take(20) {
            println!("  {v}");
        }
    }
    match detects {
        Ok(()) => {
            println!("the check catches doctored logs (two tokens swapped; one token used twice)")
        }
        Err(e) => {
            ok = false;
            println!("the check FAILED to catch a doctored log: {e}");
        }
    }
    println!("{}", if ok { "PASS" } else { "FAIL" });
    Ok(ok)
}
