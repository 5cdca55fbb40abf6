//! `standin conform`: the conformance gate for a brand's own IdP, as one
//! command. The embedded reference platform is the IdP's client; the
//! checks are Gherkin scenarios compiled into the binary
//! (`features/conform/`), run with one step vocabulary ([`steps`]); each
//! gets a verdict (PASS, WARN, FAIL, SKIP), the rule it rests on, and for
//! WARN and FAIL how to fix it ([`report`]).
//!
//! - [`world`]: what one check knows (the run's context, its embedded
//!   platform, the consumer's browser)
//! - [`steps`]: the vocabulary (`--list-steps`)
//! - [`features`]: the built-in checks, or a directory of the brand's own
//! - [`run`](mod@run): choosing and running the checks
//! - [`report`]: verdicts, the terminal table, JUnit XML, JSON
//! - [`init`]: the commented profile `--init` writes

pub mod chromium;
pub mod features;
pub mod init;
pub mod report;
pub mod run;
pub mod steps;
pub mod world;

pub use report::{Report, Verdict};
pub use run::{Options, StartError, run};
