//! `GET /static/orders`: a caller presenting a long-lived token under a
//! configured scheme, `Authorization: <type> <token>`, as brand APIs with
//! fixed API tokens do.
//!
//! The fixtures' `[[static_tokens]]` give each token, the exact scheme it
//! must be sent under (`Token` by default, so a client that always sends
//! `Bearer` is caught) and the consumer whose orders it reads. The scheme is
//! compared without regard to case (RFC 7235 2.1), the token in constant
//! time. The answer is `{"token_type", "sub", "orders": [...]}`.
//!
//! Refusals are 401 with a challenge naming the expected scheme
//! (`WWW-Authenticate: Token realm="brand-api"`): `credentials_required`
//! without an Authorization header, `invalid_token_type` under another
//! scheme, `invalid_token` for an unknown token. The request log records
//! the scheme and [`crate::idp::token_id`] of the token, never the token.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::{REALM, authorization};
use super::error::{ApiError, json_error};
use super::state::BrandApiState;
use crate::secret::Secret;

/// The scheme a token is sent under unless the fixtures say otherwise.
pub const DEFAULT_TYPE: &str = "Token";

fn default_type() -> String {
    DEFAULT_TYPE.into()
}

/// One token `/static/orders` accepts (`[[static_tokens]]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticToken {
    /// The Authorization scheme it must be sent under (an RFC 7230 token).
    #[serde(rename = "type", default = "default_type")]
    pub token_type: String,
    pub token: Secret,
    /// The consumer whose orders this token reads.
    pub sub: String,
}

/// RFC 7230 3.2.6 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl StaticToken {
    pub fn validate(&self) -> Result<(), String> {
        if self.token_type.is_empty() || !self.token_type.bytes().all(is_tchar) {
            return Err(format!(
                "type: {:?} is not an HTTP authentication scheme name",
                self.token_type
            ));
        }
        let token = self.token.expose();
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("token: must be visible ASCII without spaces".into());
        }
        if self.sub.trim().is_empty() {
            return Err("sub: must not be empty".into());
        }
        Ok(())
    }
}

/// The schemes the fixtures accept, first-seen order, no repeats (case
/// insensitive).
fn schemes(tokens: &[StaticToken]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for t in tokens {
        if !out.iter().any(|s| s.eq_ignore_ascii_case(&t.token_type)) {
            out.push(&t.token_type);
        }
    }
    out
}

/// A refusal: 401 with one challenge per accepted scheme.
fn refuse(schemes: &[&str], code: &str, description: &str) -> Response {
    let mut response = json_error(StatusCode::UNAUTHORIZED, code, description);
    let challenge = schemes
        .iter()
        .map(|s| format!("{s} realm=\"{REALM}\""))
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The token sent under `scheme` with value `presented`, comparing every
/// token of that scheme in full.
fn find<'a>(tokens: &'a [StaticToken], scheme: &str, presented: &str) -> Option<&'a StaticToken> {
    let mut found = None;
    for t in tokens
        .iter()
        .filter(|t| t.token_type.eq_ignore_ascii_case(scheme))
    {
        if t.token.matches(presented) && found.is_none() {
            found = Some(t);
        }
    }
    found
}

/// `GET /static/orders`.
pub async fn orders(State(state): State<BrandApiState>, headers: HeaderMap) -> Response {
    let tokens = &state.fixtures().static_tokens;
    let schemes = schemes(tokens);
    if schemes.is_empty() {
        return ApiError::AccessDenied("no static tokens are configured for this API".into())
            .into_response();
    }
    let expected = schemes.join(" or ");
    let (scheme, credentials) = match authorization(&headers) {
        Ok(Some(parts)) => parts,
        Ok(None) => {
            return refuse(
                &schemes,
                "credentials_required",
                &format!("this route needs Authorization: {expected} <token>"),
            );
        }
        Err(e) => return refuse(&schemes, "invalid_token", &e),
    };
    if !schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return refuse(
            &schemes,
            "invalid_token_type",
            &format!("the token must be sent as Authorization: {expected} <token>"),
        );
    }
    let Some(token) = find(tokens, scheme, credentials) else {
        return refuse(&schemes, "invalid_token", "unknown token");
    };
    super::orders::of_caller(
        &state,
        [("token_type", json!(token.token_type))],
        token.sub.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(kind: &str, value: &str) -> StaticToken {
        StaticToken {
            token_type: kind.into(),
            token: Secret::new(value),
            sub: "s".into(),
        }
    }

    #[test]
    fn the_scheme_is_matched_without_case_and_the_token_exactly() {
        let tokens = [token("Token", "abc"), token("ApiKey", "xyz")];
        assert!(find(&tokens, "token", "abc").is_some());
        assert!(find(&tokens, "TOKEN", "abc").is_some());
        assert!(find(&tokens, "ApiKey", "abc").is_none());
        assert!(find(&tokens, "Token", "ABC").is_none());
        assert_eq!(
            schemes(&[token("Token", "a"), token("token", "b")]),
            ["Token"]
        );
    }

    #[test]
    fn types_must_be_scheme_names_and_tokens_visible_ascii() {
        assert!(token("Token", "abc").validate().is_ok());
        assert!(token("My Token", "abc").validate().is_err());
        assert!(token("", "abc").validate().is_err());
        assert!(token("Token", "a b").validate().is_err());
        assert!(token("Token", "").validate().is_err());
    }
}
