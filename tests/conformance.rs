//! The Gherkin conformance suite.
//!
//! `cargo test --test conformance` runs every feature under `features/idp/`
//! against a fresh embedded mock IdP per scenario. Environment:
//!
//! - `STANDIN_PROFILE=path/to/profile.toml`: run against the external IdP the
//!   profile names instead; scenarios tagged `@control` (they need the mock's
//!   control surface) or `@fixtures` (they need the default brand's clients
//!   and users) are left out.
//! - `STANDIN_JUNIT=path/to/report.xml`: also write a JUnit XML report.
//!
//! Usual cucumber options work after `--`, e.g. `-- --tags @authorize`,
//! `-- --name "code replay"`, `-- -vv` (prints the World; it holds no secret
//! in clear).

mod common;
mod steps;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::has_tag;
use cucumber::{World as _, WriterExt as _, gherkin, writer};
use standin::conformance::Profile;
use steps::{IdpWorld, MOCK_ONLY_TAGS, PROFILE};

/// Scenarios in flight at once; each has its own IdP on its own port.
const CONCURRENCY: usize = 16;

#[tokio::main]
async fn main() {
    let profile = match std::env::var_os("STANDIN_PROFILE") {
        Some(path) => match Profile::load(Path::new(&path)) {
            Ok(profile) => Some(Arc::new(profile)),
            Err(e) => {
                eprintln!("STANDIN_PROFILE: {e}");
                std::process::exit(2);
            }
        },
        None => None,
    };
    let external = profile.is_some();
    if let Some(profile) = &profile {
        eprintln!(
            "conformance run against {} as client {} (scenarios tagged {} skipped)",
            profile.issuer_str(),
            profile.client_id,
            MOCK_ONLY_TAGS.map(|t| format!("@{t}")).join(", ")
        );
    }
    PROFILE
        .set(profile)
        .expect("the profile is set once, before any scenario");

    let features = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("features")
        .join("idp");
    // Tags a profile run leaves out besides the mock-only ones, e.g.
    // `jwt_access_tokens` for an IdP whose access tokens are opaque.
    let skip: Vec<String> = std::env::var("STANDIN_SKIP_TAGS")
        .unwrap_or_default()
        .split(',')
        .map(|t| t.trim().trim_start_matches('@').to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if external && !skip.is_empty() {
        eprintln!(
            "also skipped: {}",
            skip.iter()
                .map(|t| format!("@{t}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let filter = move |feature: &gherkin::Feature,
                       rule: Option<&gherkin::Rule>,
                       scenario: &gherkin::Scenario| {
        !external
            || !(needs_the_mock(feature, rule, scenario)
                || has_tag(feature, rule, scenario, |t| skip.iter().any(|s| s == t)))
    };

    match std::env::var_os("STANDIN_JUNIT").map(PathBuf::from) {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).unwrap_or_else(|e| {
                    panic!("cannot create the directory of {}: {e}", path.display())
                });
            }
            let file = File::create(&path)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
            IdpWorld::cucumber()
                .max_concurrent_scenarios(CONCURRENCY)
                .with_writer(
                    writer::Basic::raw(io::stdout(), writer::Coloring::Auto, 0)
                        .summarized()
                        .tee::<IdpWorld, _>(writer::JUnit::for_tee(file, 0))
                        .normalized(),
                )
                .fail_on_skipped()
                .filter_run_and_exit(features, filter)
                .await;
        }
        None => {
            IdpWorld::cucumber()
                .max_concurrent_scenarios(CONCURRENCY)
                .fail_on_skipped()
                .filter_run_and_exit(features, filter)
                .await;
        }
    }
}

/// Does this scenario (or its feature or rule) carry a tag only the
/// embedded mock can honour?
fn needs_the_mock(
    feature: &gherkin::Feature,
    rule: Option<&gherkin::Rule>,
    scenario: &gherkin::Scenario,
) -> bool {
    has_tag(feature, rule, scenario, |t| MOCK_ONLY_TAGS.contains(&t))
}
