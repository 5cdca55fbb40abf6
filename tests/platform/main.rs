//! The platform's integration tests, in one test binary: what the Gherkin
//! suites of `features/delegation/` and `features/credentials/` do not
//! check. Its HTTP surface (`api`: errors, odd callbacks, the chat page
//! without scripts, the OAuth request log, the console over plain HTTP),
//! the consumer-delegation flow where the suites do not reach
//! (`delegation`: a payment's body and headers, the flow against
//! oidc-provider), the vault (persistence across a kill, robustness under
//! arbitrary input, Mutual Authentication key stores made by keytool and
//! openssl) and its pages in real Chromium (`browser`). They drive the
//! platform through `tests/drivers/`, as the suites' steps do, and the
//! world of `tests/platform_support/`. The brand side's tests are
//! `tests/brand/`.

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
