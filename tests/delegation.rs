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

mod common;
mod delegation_steps;
mod drivers;

#[tokio::main]
async fn main() {
    delegation_steps::runner::run("delegation", "STANDIN_DELEGATION_JUNIT").await;
}
