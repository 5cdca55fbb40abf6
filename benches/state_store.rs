//! What one outstanding or remembered `state` costs the platform in
//! memory, and how fast its store takes, claims and forgets them.
//!
//! `cargo bench --bench state_store` (release; a few seconds). A counting
//! global allocator gives the bytes allocated and not yet freed. For N
//! sign-in links as the delegation flow makes them (one organisation, the
//! demo bot's "my orders" call waiting in each, a `state` of 43
//! characters; 50 links a second, each living 300 s, the platform's
//! default):
//!
//! - live: N links issued in the same second, then all claimed: bytes per
//!   live entry in `standin::platform::delegation::Challenges` (the
//!   platform's `StateStore<Challenge>`), everything the store holds for
//!   it (the map, any index, the challenge's own strings); nanoseconds per
//!   insert and per claim;
//! - remembered: N completed sign-ins as a steady stream (each link
//!   claimed 5 s after it was issued): bytes per entry once all are
//!   claimed (a consumed `state`, kept for `REMEMBER_SECS` after its
//!   expiry so that a replay is reported as reused), nanoseconds per
//!   sign-in (its insert and its claim, sweeps included), and nanoseconds
//!   per entry forgotten by the sweep once the hour has passed;
//! - expired: the same stream abandoned (no link claimed): bytes per entry
//!   once all have expired and the store has swept.
//!
//! A hash map's memory per entry depends on how full it is (it doubles
//! when 7/8 full), so each figure is given at several N. The counting
//! allocator counts the bytes asked for; the system allocator rounds each
//! allocation up (a 4-byte string takes 32 bytes of glibc's heap), so
//! resident memory per entry is somewhat higher for a layout of many
//! small allocations.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use standin::clock::Instant;
use standin::platform::bots::AnswerTemplate;
use standin::platform::conversations::ConversationId;
use standin::platform::delegation::{Challenge, Challenges};
use standin::platform::integrations::{Method, PreparedCall};
use standin::platform::oauth::state_store::REMEMBER_SECS;
use standin::platform::org::OrgId;
use standin::secret::{Nonce, PkceVerifier};
use url::Url;

#[path = "common/counting.rs"]
mod counting;
use counting::{Counting, live};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const NOW: Instant = Instant::from_unix_secs(1_700_000_000);
/// Links issued a second (the soak's rate).
const RATE: usize = 50;
/// A link's lifetime (`PlatformOptions::state_ttl_secs`' default).
const TTL: u64 = 300;

/// Distinct, as long as the platform's (32 random bytes, base64url).
fn token(i: usize, len: usize) -> String {
    format!("{i:0>len$}")
}

fn issued(i: usize) -> Instant {
    NOW + Duration::from_secs((i / RATE) as u64)
}

/// The challenge of the demo bot's "my orders" (`fixtures/platform.toml`)
/// as `delegation::challenge::issue` makes it: every string its own.
fn challenge(i: usize) -> Challenge {
    let conversation: ConversationId =
        serde_json::from_value(serde_json::Value::String(token(i, 22))).expect("an id");
    let vars = BTreeMap::from([
        ("idempotency_key".to_string(), token(i, 22)),
        ("conversation_id".to_string(), conversation.to_string()),
    ]);
    Challenge {
        conversation,
        credential: "brand-login".into(),
        redirect_uri: "http://127.0.0.1:8402/callback/demo/redirectCode".into(),
        verifier: PkceVerifier::new(token(i, 43)),
        nonce: Nonce::new(token(i, 22)),
        openid: true,
        call: PreparedCall {
            integration: "list-orders".into(),
            method: Method::Get,
            url: Url::parse("http://127.0.0.1:8401/api/orders").expect("a URL"),
            headers: vec![("Accept".into(), "application/json".into())],
            body: None,
            credential: Some("brand-login".into()),
            answer: AnswerTemplate {
                text: "Your orders: {list}".into(),
                list: Some("/orders".into()),
                item: Some("{/id} ({/status}, total {/total})".into()),
                separator: "; ".into(),
                empty: "you have no orders".into(),
            },
            vars,
        },
    }
}

struct Figures {
    live_bytes: f64,
    spent_bytes: f64,
    expired_bytes: f64,
    insert_ns: f64,
    claim_ns: f64,
    flow_ns: f64,
    sweep_ns: f64,
}

/// Claims lag their link by 5 s (a consumer signing in).
const LAG: usize = 5 * RATE;

/// Bytes allocated and not freed since `base`, per entry.
fn per(base: isize, n: usize) -> f64 {
    (live() - base) as f64 / n as f64
}

fn inputs(states: &[String]) -> Vec<(String, Challenge)> {
    states
        .iter()
        .enumerate()
        .map(|(i, s)| (s.clone(), challenge(i)))
        .collect()
}

/// One entry more, long after the others are forgotten: the sweep it
/// triggers forgets all of them. Nanoseconds per entry forgotten.
fn sweep(store: &Challenges, n: usize, demo: &OrgId) -> f64 {
    let late = issued(n) + Duration::from_secs(TTL + REMEMBER_SECS + 1);
    let ch = challenge(n);
    let t = std::time::Instant::now();
    store.insert(
        "late".into(),
        demo.clone(),
        ch,
        late + Duration::from_secs(TTL),
        late,
    );
    t.elapsed().as_nanos() as f64 / n as f64
}

fn measure(n: usize) -> Figures {
    let demo = OrgId::parse("demo").expect("an org");
    let states: Vec<String> = (0..n).map(|i| token(i, 43)).collect();

    // All live at once (issued in the same second), then all claimed.
    let base = live();
    let store = Challenges::default();
    let input = inputs(&states);
    let t = std::time::Instant::now();
    for (state, ch) in input {
        store.insert(state, demo.clone(), ch, NOW + Duration::from_secs(TTL), NOW);
    }
    let insert_ns = t.elapsed().as_nanos() as f64 / n as f64;
    let live_bytes = per(base, n);
    let later = NOW + Duration::from_secs(5);
    let t = std::time::Instant::now();
    for state in &states {
        black_box(store.claim(state, Some("demo"), later).is_ok());
    }
    let claim_ns = t.elapsed().as_nanos() as f64 / n as f64;
    drop(store);

    // A steady stream of completed sign-ins: `RATE` links a second, each
    // claimed 5 s after it was issued. Then every entry is a remembered
    // one (nothing is forgotten yet: n / RATE <= TTL + REMEMBER_SECS).
    let base = live();
    let store = Challenges::default();
    let input = inputs(&states);
    let t = std::time::Instant::now();
    for (i, (state, ch)) in input.into_iter().enumerate() {
        let at = issued(i);
        store.insert(state, demo.clone(), ch, at + Duration::from_secs(TTL), at);
        if i >= LAG {
            black_box(store.claim(&states[i - LAG], Some("demo"), at).is_ok());
        }
    }
    let at = issued(n) + Duration::from_secs(5);
    for state in &states[n.saturating_sub(LAG)..] {
        black_box(store.claim(state, Some("demo"), at).is_ok());
    }
    let flow_ns = t.elapsed().as_nanos() as f64 / n as f64;
    let spent_bytes = per(base, n);
    let sweep_ns = sweep(&store, n, &demo);
    drop(store);

    // The same stream, abandoned: no link claimed. One insert after the
    // last expiry lets the store sweep.
    let base = live();
    let store = Challenges::default();
    for (i, (state, ch)) in inputs(&states).into_iter().enumerate() {
        let at = issued(i);
        store.insert(state, demo.clone(), ch, at + Duration::from_secs(TTL), at);
    }
    let after = issued(n) + Duration::from_secs(TTL + 1);
    store.insert(
        "after".into(),
        demo.clone(),
        challenge(n),
        after + Duration::from_secs(TTL),
        after,
    );
    let expired_bytes = per(base, n);
    drop(store);

    Figures {
        live_bytes,
        spent_bytes,
        expired_bytes,
        insert_ns,
        claim_ns,
        flow_ns,
        sweep_ns,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, so
    // a quick run with a small N serves as the test.
    let quick = std::env::args().all(|a| a != "--bench");
    let sizes: &[usize] = if quick {
        &[1_000]
    } else {
        // 195,000 is the steady state at 50 a second: (300 + 3600) s.
        &[10_000, 100_000, 180_000, 195_000]
    };
    println!(
        "state store: delegation challenges (size_of::<Challenge>() = {} bytes), one organisation",
        std::mem::size_of::<Challenge>()
    );
    println!(
        "{:>8} | {:>10} | {:>11} | {:>13} | {:>9} | {:>8} | {:>7} | {:>12}",
        "N",
        "bytes/live",
        "bytes/spent",
        "bytes/expired",
        "ns/insert",
        "ns/claim",
        "ns/flow",
        "ns/forgotten"
    );
    for &n in sizes {
        let f = measure(n);
        println!(
            "{n:>8} | {:>10.1} | {:>11.1} | {:>13.1} | {:>9.0} | {:>8.0} | {:>7.0} | {:>12.0}",
            f.live_bytes,
            f.spent_bytes,
            f.expired_bytes,
            f.insert_ns,
            f.claim_ns,
            f.flow_ns,
            f.sweep_ns
        );
    }
}
