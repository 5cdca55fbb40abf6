//! What one token record costs the mock IdP in memory, and how fast the
//! store records and forgets.
//!
//! `cargo bench --bench records` (release; a few seconds). A counting
//! global allocator gives the bytes allocated and not yet freed; VmRSS of
//! this process is printed beside it. For N client-credentials access
//! tokens recorded as a load test makes them (one client, one scope, one
//! audience; half opaque, half JWT):
//!
//! - bytes per record in `standin::idp::records::Records`, the store the
//!   IdP uses: the map entry (16-byte id, 56-byte record), the index by
//!   expiry second, the shared strings;
//! - the same for the record kept before (a `HashMap<String, _>` of a
//!   struct of owned strings), rebuilt here for the comparison;
//! - nanoseconds per record recorded, and per record forgotten by the
//!   sweep when all expire.
//!
//! A hash map's memory per entry depends on how full it is (it doubles
//! when 7/8 full), so each figure is given at several N.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use standin::clock::Instant;
use standin::idp::Limits;
use standin::idp::fixtures::TokenFormat;
use standin::idp::records::{AccessDraft, Records, TokenId};
use standin::idp::state::Grant;

#[path = "common/counting.rs"]
mod counting;
use counting::{Counting, live};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn rss_kb() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .ok()
}

/// The token values of a run: distinct, as long as real ones.
fn value(i: usize) -> String {
    format!("{i:0>43}")
}

/// The client credentials access token record the IdP made before this
/// store (`src/idp/state.rs` until the ceiling came): owned strings.
#[allow(dead_code)]
struct OldAccessRecord {
    id: String,
    seq: u64,
    client_id: String,
    sub: Option<String>,
    scope: String,
    format: TokenFormat,
    grant: Grant,
    issued_at: i64,
    expires_at: i64,
    revoked: bool,
    presented: u32,
    family: Option<String>,
    audience: String,
    auth_time: Option<i64>,
}

const NOW: Instant = Instant::from_unix_secs(1_700_000_000);

fn draft(id: TokenId, i: usize) -> AccessDraft<'static> {
    AccessDraft {
        id,
        client_id: "bench-opaque",
        sub: None,
        scope: "orders:read payments:write",
        audience: "brand-api",
        format: if i % 2 == 0 {
            TokenFormat::Opaque
        } else {
            TokenFormat::Jwt
        },
        grant: Grant::ClientCredentials,
        // A load test's rate: 50,000 a second, 600 s tokens.
        issued_at: NOW + Duration::from_secs((i / 50_000) as u64),
        expires_at: NOW + Duration::from_secs((i / 50_000) as u64 + 600),
        auth_time: None,
        family: None,
        revoked: false,
        binding: None,
    }
}

/// Record `n` tokens; bytes per record, ns per insert, ns per record
/// forgotten.
fn current(n: usize) -> (f64, f64, f64, i64) {
    let ids: Vec<TokenId> = (0..n).map(|i| TokenId::of(&value(i))).collect();
    let rss0 = rss_kb().unwrap_or(0);
    let before = live();
    let mut records = Records::new(Limits {
        max_records: usize::MAX,
        ..Limits::default()
    });
    let t = std::time::Instant::now();
    for (i, id) in ids.iter().enumerate() {
        records
            .insert_tokens(draft(*id, i), None, NOW)
            .expect("no ceiling");
    }
    let insert_ns = t.elapsed().as_nanos() as f64 / n as f64;
    let bytes = (live() - before) as f64 / n as f64;
    let rss = rss_kb().unwrap_or(0) - rss0;
    let t = std::time::Instant::now();
    records.prune(Instant::MAX - Duration::from_secs(1));
    let prune_ns = t.elapsed().as_nanos() as f64 / n as f64;
    assert!(records.is_empty());
    black_box(&records);
    (bytes, insert_ns, prune_ns, rss)
}

/// The same `n` tokens as the store kept them before.
fn old(n: usize) -> f64 {
    let ids: Vec<String> = (0..n).map(|i| standin::idp::token_id(&value(i))).collect();
    let before = live();
    let mut map: HashMap<String, OldAccessRecord> = HashMap::new();
    for (i, id) in ids.into_iter().enumerate() {
        let d = draft(TokenId::of(""), i);
        map.insert(
            id.clone(),
            OldAccessRecord {
                id,
                seq: i as u64,
                client_id: d.client_id.to_string(),
                sub: None,
                scope: d.scope.to_string(),
                format: d.format,
                grant: d.grant,
                issued_at: d.issued_at.unix_secs(),
                expires_at: d.expires_at.unix_secs(),
                revoked: false,
                presented: 0,
                family: None,
                audience: d.audience.to_string(),
                auth_time: None,
            },
        );
    }
    // The ids vector was moved into the map: what is left is the map.
    let bytes = (live() - before) as f64 / n as f64;
    black_box(&map);
    bytes
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // else either, so a quick run with a small N serves as the test.
    let quick = std::env::args().all(|a| a != "--bench");
    let sizes: &[usize] = if quick {
        &[10_000]
    } else {
        &[100_000, 250_000, 500_000, 750_000, 1_000_000, 2_000_000]
    };
    println!("records: client credentials access tokens, one client, scope and audience");
    println!(
        "{:>10} | {:>14} | {:>13} | {:>16} | {:>15} | {:>14}",
        "N", "bytes/record", "VmRSS delta", "ns per insert", "ns per forget", "before: bytes"
    );
    let mut all = Vec::new();
    for &n in sizes {
        let (bytes, insert_ns, prune_ns, rss) = current(n);
        let before = old(n);
        all.push((bytes, before));
        println!(
            "{n:>10} | {bytes:>14.1} | {:>10.1} MB | {insert_ns:>16.0} | {prune_ns:>15.0} | {before:>14.1}",
            rss as f64 / 1024.0
        );
    }
    let (lo, hi) = all.iter().fold((f64::MAX, 0f64), |(lo, hi), (b, _)| {
        (lo.min(*b), hi.max(*b))
    });
    let (old_lo, old_hi) = all.iter().fold((f64::MAX, 0f64), |(lo, hi), (_, b)| {
        (lo.min(*b), hi.max(*b))
    });
    println!(
        "bytes per access token record: {lo:.0} to {hi:.0} (was {old_lo:.0} to {old_hi:.0}); the record itself is {} bytes, {} with its id",
        std::mem::size_of::<standin::idp::records::AccessRecord>(),
        std::mem::size_of::<(TokenId, standin::idp::records::AccessRecord)>()
    );
}
