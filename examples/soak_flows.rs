//! Whole consumer-delegation flows at a steady rate against a running
//! platform, for a set time: the driver of `benches/soak.sh flows`.
//!
//! ```sh
//! cargo run --release --example soak_flows -- http://127.0.0.1:8402 --rate 20 --duration 600
//! ```
//!
//! Arguments: the platform's base URL; `--rate N` flows started per second
//! (default 20); `--duration SECS` (default 600); `--in-flight N` the most
//! flows running at once (default 200: beyond it a tick starts none and
//! counts as skipped, so a slow server is not buried); `--org`, `--bot`
//! (default `demo`, `demo-bot`) and `--ask` (default `my orders`), which
//! must name a dialog calling the brand API with a Consumer Authentication
//! credential.
//!
//! Each flow, as a new consumer would: opens a conversation, asks, gets the
//! sign-in link, opens it in a browser of its own (a
//! [`ConsumerAgent`]: a fresh cookie jar, so a new login session at the
//! IdP every time), signs in as alice or bob (alternately), allows consent
//! if asked, lands on the platform's callback page, reads the answer from
//! the transcript, and closes the conversation (`DELETE`), as a chat ends.
//!
//! Every 10 s it prints a line: flows done, failed, skipped, and the
//! latency of the last 10 s (p50, p99). It stops by itself after the
//! duration, lets the flows in flight finish, prints `SOAK ...` with the
//! totals (ticks missed: flows not started because the driver itself was
//! late, as on a machine busy with other work), and exits 1 if any flow
//! failed. Loopback addresses only.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use standin::conformance::agent::{ConsumerAgent, FormHints, Landing, Page};
use url::Url;

struct Args {
    platform: Url,
    rate: f64,
    duration: Duration,
    in_flight: usize,
    org: String,
    bot: String,
    ask: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut platform = None;
    let mut out = Args {
        platform: Url::parse("http://127.0.0.1:8402").expect("a URL"),
        rate: 20.0,
        duration: Duration::from_secs(600),
        in_flight: 200,
        org: "demo".into(),
        bot: "demo-bot".into(),
        ask: "my orders".into(),
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--rate" => {
                out.rate = value("--rate")?
                    .parse()
                    .map_err(|e| format!("--rate: {e}"))?
            }
            "--duration" => {
                out.duration = Duration::from_secs(
                    value("--duration")?
                        .parse()
                        .map_err(|e| format!("--duration: {e}"))?,
                )
            }
            "--in-flight" => {
                out.in_flight = value("--in-flight")?
                    .parse()
                    .map_err(|e| format!("--in-flight: {e}"))?
            }
            "--org" => out.org = value("--org")?,
            "--bot" => out.bot = value("--bot")?,
            "--ask" => out.ask = value("--ask")?,
            url if platform.is_none() && !url.starts_with("--") => {
                platform = Some(Url::parse(url).map_err(|e| format!("{url}: {e}"))?)
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if let Some(p) = platform {
        out.platform = p;
    }
    let loopback = match out.platform.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if !loopback {
        return Err("the platform must be on a loopback address".into());
    }
    if !out.rate.is_finite() || out.rate <= 0.0 {
        return Err("--rate must be above zero".into());
    }
    Ok(out)
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

/// One flow, start to close.
async fn flow(args: &Args, http: &reqwest::Client, n: usize) -> Result<(), String> {
    let base = args.platform.as_str().trim_end_matches('/');
    let (user, password) = if n % 2 == 0 {
        ("alice", "alice-password")
    } else {
        ("bob", "bob-password")
    };
    let opened = api_json(
        http.post(format!("{base}/api/conversations"))
            .json(&json!({"org": args.org, "bot": args.bot, "consumer_id": format!("soak-{n}")})),
        "open",
    )
    .await?;
    let conversation = opened["id"].as_str().ok_or("open: no id")?.to_string();
    let replied = api_json(
        http.post(format!("{base}/api/conversations/{conversation}/messages"))
            .json(&json!({ "text": args.ask })),
        "ask",
    )
    .await?;
    let link = replied["replies"][0]["link"]
        .as_str()
        .ok_or_else(|| format!("ask: no link in {replied}"))?;
    let link = Url::parse(link).map_err(|e| err("link", e))?;

    let mut agent = ConsumerAgent::new(FormHints::default()).map_err(|e| err("agent", e))?;
    let landing = agent.open(&link).await.map_err(|e| err("authorize", e))?;
    let login = expect_page(&landing, "authorize")?;
    let mut landing = agent
        .sign_in(login, user, password)
        .await
        .map_err(|e| err("login", e))?;
    let page = expect_page(&landing, "login")?;
    if page
        .form_with_button(&agent.hints().allow_button)
        .map_err(|e| err("consent", e))?
        .is_some()
    {
        landing = agent
            .allow_consent(page)
            .await
            .map_err(|e| err("consent", e))?;
    }
    let done = expect_page(&landing, "callback")?;
    if done.status != 200 || !done.url.path().starts_with("/callback/") {
        return Err(format!("callback: {}", done.describe()));
    }
    let transcript = api_json(
        http.get(format!(
            "{base}/api/conversations/{conversation}/transcript"
        )),
        "transcript",
    )
    .await?;
    // The bot's last word is the answer: no sign-in link, not a failure.
    let answered = transcript["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["from"] == "bot"))
        .is_some_and(|m| {
            m["link"].is_null()
                && m["text"]
                    .as_str()
                    .is_some_and(|t| !t.is_empty() && !t.contains("failed"))
        });
    if !answered {
        return Err(format!("no answer in the transcript: {transcript}"));
    }
    let closed = http
        .delete(format!("{base}/api/conversations/{conversation}"))
        .send()
        .await
        .map_err(|e| err("close", e))?;
    if !closed.status().is_success() {
        return Err(format!("close: {}", closed.status()));
    }
    Ok(())
}

#[derive(Default)]
struct Counts {
    done: AtomicUsize,
    failed: AtomicUsize,
    skipped: AtomicUsize,
    in_flight: AtomicUsize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("soak_flows: {e}");
            return ExitCode::from(2);
        }
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a reqwest client");
    let counts = Arc::new(Counts::default());
    let (latency_tx, mut latency_rx) = tokio::sync::mpsc::unbounded_channel::<Duration>();
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut report = tokio::time::interval(Duration::from_secs(10));
    report.tick().await;
    let mut window: Vec<Duration> = Vec::new();
    let mut n = 0usize;
    let mut failures_shown = 0;
    let (fail_tx, mut fail_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    println!(
        "soak_flows: {} flows/s for {} s against {}",
        args.rate,
        args.duration.as_secs(),
        args.platform
    );
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if started.elapsed() >= args.duration {
                    break;
                }
                if counts.in_flight.load(Ordering::Relaxed) >= args.in_flight {
                    counts.skipped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                counts.in_flight.fetch_add(1, Ordering::Relaxed);
                let (args, http, counts, latency_tx, fail_tx) =
                    (args.clone(), http.clone(), counts.clone(), latency_tx.clone(), fail_tx.clone());
                let i = n;
                n += 1;
                tokio::spawn(async move {
                    let t = Instant::now();
                    match flow(&args, &http, i).await {
                        Ok(()) => {
                            counts.done.fetch_add(1, Ordering::Relaxed);
                            let _ = latency_tx.send(t.elapsed());
                        }
                        Err(e) => {
                            counts.failed.fetch_add(1, Ordering::Relaxed);
                            let _ = fail_tx.send(e);
                        }
                    }
                    counts.in_flight.fetch_sub(1, Ordering::Relaxed);
                });
            }
            Some(d) = latency_rx.recv() => window.push(d),
            Some(e) = fail_rx.recv() => {
                if failures_shown < 10 {
                    eprintln!("flow failed: {e}");
                    failures_shown += 1;
                }
            }
            _ = report.tick() => {
                window.sort();
                println!(
                    "t={:>4} s  done {:>7}  failed {:>4}  skipped {:>4}  in flight {:>3}  last 10 s: {} flows, p50 {} ms, p99 {} ms",
                    started.elapsed().as_secs(),
                    counts.done.load(Ordering::Relaxed),
                    counts.failed.load(Ordering::Relaxed),
                    counts.skipped.load(Ordering::Relaxed),
                    counts.in_flight.load(Ordering::Relaxed),
                    window.len(),
                    percentile(&window, 0.5).as_millis(),
                    percentile(&window, 0.99).as_millis(),
                );
                window.clear();
            }
        }
    }
    // Let the flows in flight finish (each is bounded by the HTTP timeout).
    let drain = Instant::now();
    while counts.in_flight.load(Ordering::Relaxed) > 0 && drain.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (done, failed, skipped) = (
        counts.done.load(Ordering::Relaxed),
        counts.failed.load(Ordering::Relaxed),
        counts.skipped.load(Ordering::Relaxed),
    );
    // Ticks the interval dropped because this process was late (a starved
    // driver), beside those skipped for too many flows in flight.
    let scheduled = (args.duration.as_secs_f64() * args.rate).round() as usize;
    let missed = scheduled.saturating_sub(n + skipped);
    println!(
        "SOAK flows_started={n} flows_done={done} flows_failed={failed} ticks_skipped={skipped} ticks_missed={missed} seconds={}",
        started.elapsed().as_secs()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
