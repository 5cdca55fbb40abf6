//! The Gherkin suite of consumer delegation (`features/delegation/`).
//!
//! `cargo test --test delegation` runs every scenario end to end over HTTP
//! between a fresh mock brand IdP, mock brand API and reference platform,
//! all on port 0 and sharing one clock. Environment:
//!
//! - `STANDIN_DELEGATION_JUNIT=path/to/report.xml`: also write a JUnit XML
//!   report. Without it, when `STANDIN_JUNIT` is set (the conformance
//!   suite's report, e.g. `target/conformance.junit.xml`), the report goes
//!   beside it with `-delegation` added to the file name
//!   (`target/conformance.junit-delegation.xml`), so both reports survive
//!   one `cargo test`.
//!
//! Usual cucumber options work after `--`, e.g. `-- --tags @state`,
//! `-- --name "duplicate"`, `-- -vv` (prints the World; it holds no token,
//! code, state or secret in clear).

mod delegation_steps;

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use cucumber::{World as _, WriterExt as _, writer};
use delegation_steps::DelegationWorld;

/// Scenarios in flight at once; each has its own three servers.
const CONCURRENCY: usize = 16;

/// Where the JUnit report goes, if anywhere.
fn junit_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("STANDIN_DELEGATION_JUNIT") {
        return Some(PathBuf::from(path));
    }
    let shared = PathBuf::from(std::env::var_os("STANDIN_JUNIT")?);
    let mut name: OsString = shared.file_stem().unwrap_or_default().to_owned();
    name.push("-delegation");
    if let Some(ext) = shared.extension() {
        name.push(".");
        name.push(ext);
    }
    Some(shared.with_file_name(name))
}

#[tokio::main]
async fn main() {
    let features = Path::new(env!("CARGO_MANIFEST_DIR")).join("features/delegation");
    match junit_path() {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).unwrap_or_else(|e| {
                    panic!("cannot create the directory of {}: {e}", path.display())
                });
            }
            let file = File::create(&path)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
            DelegationWorld::cucumber()
                .max_concurrent_scenarios(CONCURRENCY)
                .with_writer(
                    writer::Basic::raw(io::stdout(), writer::Coloring::Auto, 0)
                        .summarized()
                        .tee::<DelegationWorld, _>(writer::JUnit::for_tee(file, 0))
                        .normalized(),
                )
                .fail_on_skipped()
                .run_and_exit(features)
                .await;
        }
        None => {
            DelegationWorld::cucumber()
                .max_concurrent_scenarios(CONCURRENCY)
                .fail_on_skipped()
                .run_and_exit(features)
                .await;
        }
    }
}
