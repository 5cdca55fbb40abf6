//! Helpers shared by the test targets (`tests/brand/`, `tests/platform/`,
//! the Gherkin runners, ...).
//!
//! Each test target compiles this module on its own and uses part of it.
#![allow(dead_code)]

use standin::clock::Clock;
use standin::idp::keys::KeySet;
use standin::idp::{Fixtures, IdpState};

/// Alice, the default fixture user.
pub const ALICE: &str = "alice";
pub const ALICE_PASSWORD: &str = "alice-password";
pub const ALICE_SUB: &str = "c0ffee00-a11c-4e00-8000-000000000001";

/// The RFC 6749 5.2 error codes: all a token endpoint may answer.
pub const TOKEN_ERRORS: [&str; 6] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
];

/// An IdP state for in-process use with `standin::idp::router`, built the
/// way `MockIdp::start_with` builds it (default brand, own clock).
pub fn idp_state(issuer: &str) -> IdpState {
    let fixtures = Fixtures::default_brand();
    let keys = KeySet::new(fixtures.signing_keys().expect("fixture keys parse"));
    IdpState::new(issuer.to_string(), Clock::new(), fixtures, keys, true)
}

/// The value of cookie `name` among a response's `Set-Cookie` headers.
pub fn set_cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Query parameters of a URL, in order.
pub fn query_pairs(url: &url::Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The only value of `name` in `pairs`; panics if it is repeated.
pub fn only(pairs: &[(String, String)], name: &str) -> Option<String> {
    let mut values = pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone());
    let first = values.next();
    assert!(
        values.next().is_none(),
        "`{name}` appears more than once in {pairs:?}"
    );
    first
}

/// Does this scenario (or its feature or rule) carry a tag `wanted` picks?
/// (For the Gherkin runners' filters.)
pub fn has_tag(
    feature: &cucumber::gherkin::Feature,
    rule: Option<&cucumber::gherkin::Rule>,
    scenario: &cucumber::gherkin::Scenario,
    wanted: impl Fn(&str) -> bool,
) -> bool {
    feature
        .tags
        .iter()
        .chain(rule.iter().flat_map(|r| r.tags.iter()))
        .chain(scenario.tags.iter())
        .any(|tag| wanted(tag.trim_start_matches('@')))
}
