//! The platform's integration tests, in one test binary: its HTTP surface
//! (`api`), the consumer-delegation flow end to end (`delegation`, also
//! against oidc-provider), the vault (persistence, robustness, Mutual
//! Authentication key stores made by keytool and openssl) and its pages in
//! real Chromium (`browser`). The Gherkin suites have their own runners;
//! the brand side's tests are `tests/brand/`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../drivers/mod.rs"]
mod drivers;
#[path = "../platform_support/mod.rs"]
mod platform_support;

mod api;
mod browser;
mod delegation;
mod mtls_credential;
mod vault_persistence;
mod vault_robustness;
