//! The brand side's integration tests, in one test binary: the mock IdP
//! (its admin guard, a certified client library against it, robustness
//! and concurrency), the brand API, the mock NLU service and the test PKI.
//! The Gherkin suites have their own runners (`tests/conformance.rs`,
//! `tests/delegation.rs`, `tests/credentials.rs`); the platform's tests
//! are `tests/platform/`.

#[path = "../common/mod.rs"]
mod common;

mod admin_guard;
mod brand_api;
mod brand_tls;
mod concurrency;
mod nlu_brand;
mod oidc_client;
mod pki;
mod robustness;
