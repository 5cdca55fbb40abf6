//! Running a suite of the platform world: console output, and a JUnit
//! report when asked for.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use std::sync::Mutex;

use cucumber::{World as _, WriterExt as _, gherkin, writer};

use super::{DelegationWorld, profile};
use crate::common::has_tag;

/// Scenarios in flight at once; each has its own servers.
const CONCURRENCY: usize = 16;

/// Where the JUnit report of suite `suite` goes, if anywhere: `env_var`
/// names it, or it goes beside `STANDIN_JUNIT` with `-{suite}` added to
/// the file name, so every report survives one `cargo test`.
fn junit_path(env_var: &str, suite: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var) {
        return Some(PathBuf::from(path));
    }
    let shared = PathBuf::from(std::env::var_os("STANDIN_JUNIT")?);
    let mut name: OsString = shared.file_stem().unwrap_or_default().to_owned();
    name.push(format!("-{suite}"));
    if let Some(ext) = shared.extension() {
        name.push(".");
        name.push(ext);
    }
    Some(shared.with_file_name(name))
}

/// Every log line the parties wrote during the run (trace level for this
/// crate), so scenarios can look for what must never be logged.
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// The captured log so far.
pub fn logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

struct Capture;

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Capture every party's logs in memory: `standin` at trace level (every
/// span and event, with their fields), HTTP tracing at debug.
fn capture_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "standin=trace,tower_http=debug,warn",
        ))
        .with_ansi(false)
        .with_writer(|| Capture)
        .try_init();
}

/// Run the features under `features/{suite}`: against the embedded mock
/// IdP, or in profile mode (`STANDIN_PROFILE`, the delegation suite only)
/// against the profile's IdP, one scenario at a time (the platform listens
/// on the profile's redirect URI), leaving out the scenarios tagged with
/// [`profile::MOCK_ONLY_TAGS`] and with the tags in `STANDIN_SKIP_TAGS`
/// (comma-separated).
pub async fn run(suite: &str, env_var: &str) {
    capture_logs();
    let features = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("features")
        .join(suite);
    let external = profile::init(suite);
    let mut skip: Vec<String> = std::env::var("STANDIN_SKIP_TAGS")
        .unwrap_or_default()
        .split(',')
        .map(|t| t.trim().trim_start_matches('@').to_string())
        .filter(|t| !t.is_empty())
        .collect();
    let concurrency = match &external {
        Some(p) => {
            skip.extend(profile::MOCK_ONLY_TAGS.map(String::from));
            eprintln!(
                "{suite} suite against {} as client {} (left out: {})",
                p.issuer_str(),
                p.client_id,
                skip.iter()
                    .map(|t| format!("@{t}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            1
        }
        None => {
            skip.clear();
            CONCURRENCY
        }
    };
    let filter = move |feature: &gherkin::Feature,
                       rule: Option<&gherkin::Rule>,
                       scenario: &gherkin::Scenario| {
        !has_tag(feature, rule, scenario, |t| skip.iter().any(|s| s == t))
    };
    match junit_path(env_var, suite) {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).unwrap_or_else(|e| {
                    panic!("cannot create the directory of {}: {e}", path.display())
                });
            }
            let file = File::create(&path)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
            DelegationWorld::cucumber()
                .max_concurrent_scenarios(concurrency)
                .with_writer(
                    writer::Basic::raw(io::stdout(), writer::Coloring::Auto, 0)
                        .summarized()
                        .tee::<DelegationWorld, _>(writer::JUnit::for_tee(file, 0))
                        .normalized(),
                )
                .fail_on_skipped()
                .filter_run_and_exit(features, filter)
                .await;
        }
        None => {
            DelegationWorld::cucumber()
                .max_concurrent_scenarios(concurrency)
                .fail_on_skipped()
                .filter_run_and_exit(features, filter)
                .await;
        }
    }
}
