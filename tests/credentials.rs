//! The Gherkin suite of the credential vault (`features/credentials/`):
//! every credential type saved, validated, authorised, applied by an
//! integration against the brand side, expired and refreshed, deleted.
//!
//! It shares the platform world and step library of the delegation suite
//! (`tests/delegation_steps/`): each scenario gets a fresh mock brand IdP,
//! brand API (with its mTLS listener) and platform on port 0, on one
//! clock. `STANDIN_CREDENTIALS_JUNIT=path` writes a JUnit report; without
//! it, when `STANDIN_JUNIT` is set, the report goes beside that one with
//! `-credentials` added to the file name.

mod common;
mod delegation_steps;
mod drivers;

#[tokio::main]
async fn main() {
    delegation_steps::runner::run("credentials", "STANDIN_CREDENTIALS_JUNIT").await;
}
