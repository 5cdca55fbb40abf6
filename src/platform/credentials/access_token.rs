//! The Access Token credential: a fixed token and a free-text token type,
//! sent as `Authorization: <type> <token>`.
//!
//! The type is free text (the documents: typically `Bearer` or `Basic`,
//! or a third party's own), but it must be an HTTP auth-scheme token
//! (RFC 9110 11.1: no spaces or separators), and the token must fit in a
//! header (visible ASCII), or the header the API receives would not be
//! the one configured.

use serde::{Deserialize, Serialize};

use super::{FieldError, SaveContext, err, required};
use crate::secret::Secret;

/// A saved Access Token credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessToken {
    pub token: Secret,
    pub token_type: String,
}

/// The fields as saved.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    #[serde(default)]
    pub token: Option<Secret>,
    #[serde(default)]
    pub token_type: String,
}

/// RFC 9110 5.6.2 `token`: the characters an auth-scheme may use.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Validate: a scheme-shaped type and a header-safe token.
pub fn from_input(input: Input, _ctx: &SaveContext<'_>) -> Result<AccessToken, Vec<FieldError>> {
    let mut errors = Vec::new();
    if required(
        &input.token_type,
        "token_type",
        "the token type (e.g. Bearer)",
        &mut errors,
    ) && !input.token_type.chars().all(is_tchar)
    {
        errors.push(err(
            "token_type",
            "invalid",
            "the token type is one word of letters, digits or !#$%&'*+-.^_`|~ (an HTTP auth scheme, RFC 9110 11.1)",
        ));
    }
    match &input.token {
        None => errors.push(err("token", "missing", "the token is required")),
        Some(t) if t.expose().trim().is_empty() => {
            errors.push(err("token", "missing", "the token is required"))
        }
        Some(t) if !t.expose().chars().all(|c| c.is_ascii_graphic()) => errors.push(err(
            "token",
            "invalid",
            "the token must be visible ASCII without spaces, to travel in an Authorization header",
        )),
        Some(_) => {}
    }
    match (errors.is_empty(), input.token) {
        (true, Some(token)) => Ok(AccessToken {
            token,
            token_type: input.token_type,
        }),
        _ => Err(errors),
    }
}

impl AccessToken {
    /// The `Authorization` header value, type as configured.
    pub fn authorization(&self) -> Secret {
        Secret::new(format!("{} {}", self.token_type, self.token.expose()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(token: Option<&str>, ty: &str) -> Vec<(&'static str, &'static str)> {
        let org = super::super::basic_authentication::tests::ctx_org();
        let ctx = SaveContext {
            org: &org,
            platform_url: "http://127.0.0.1:8402",
            now: crate::clock::Instant::UNIX_EPOCH,
        };
        let input = Input {
            token: token.map(Secret::new),
            token_type: ty.into(),
        };
        match from_input(input, &ctx) {
            Ok(_) => vec![],
            Err(e) => e.into_iter().map(|e| (e.field, e.code)).collect(),
        }
    }

    #[test]
    fn each_fault_has_its_own_code() {
        assert_eq!(codes(Some("abc.def"), "Token"), vec![]);
        assert_eq!(
            codes(None, ""),
            vec![("token_type", "missing"), ("token", "missing")]
        );
        assert_eq!(
            codes(Some("abc"), "My Type"),
            vec![("token_type", "invalid")]
        );
        assert_eq!(codes(Some("a b"), "Bearer"), vec![("token", "invalid")]);
    }

    #[test]
    fn the_header_keeps_the_type_as_configured() {
        let t = AccessToken {
            token: Secret::new("xyz"),
            token_type: "SSWS".into(),
        };
        assert_eq!(t.authorization().expose(), "SSWS xyz");
    }
}
