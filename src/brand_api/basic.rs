//! `GET /basic/orders`: a partner calling with HTTP Basic credentials
//! (RFC 7617), as a brand API protected by a user name and password does.
//!
//! The users and passwords are the fixtures' `[[basic_users]]`, each
//! mapped to the consumer whose orders it reads. The answer is
//! `{"username", "sub", "orders": [...]}`. Missing, malformed or wrong
//! credentials, or another scheme, get 401 with
//! `WWW-Authenticate: Basic realm="brand-api", charset="UTF-8"`.
//!
//! Every user is compared, in constant time, whatever the outcome, so
//! neither a user name nor a password can be guessed from timing. The
//! request log records the scheme and the user name, never the password.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::{REALM, authorization};
use super::error::json_error;
use super::state::BrandApiState;
use crate::secret::Secret;

/// The authentication scheme of this route (RFC 7617).
pub const SCHEME: &str = "Basic";

/// One user of `/basic/orders` (`[[basic_users]]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicUser {
    /// No colon (RFC 7617 2).
    pub username: String,
    pub password: Secret,
    /// The consumer whose orders this user reads.
    pub sub: String,
}

impl BasicUser {
    pub fn validate(&self) -> Result<(), String> {
        if self.username.is_empty() {
            return Err("username: must not be empty".into());
        }
        if self.username.contains(':') {
            return Err("username: must not contain a colon (RFC 7617 2)".into());
        }
        if self.username.chars().any(char::is_control) {
            return Err("username: must not contain control characters".into());
        }
        if self.password.expose().is_empty() {
            return Err("password: must not be empty".into());
        }
        if self.sub.trim().is_empty() {
            return Err("sub: must not be empty".into());
        }
        Ok(())
    }
}

/// A refused Basic request: 401 with the Basic challenge.
fn refuse(code: &str, description: &str) -> Response {
    let mut response = json_error(StatusCode::UNAUTHORIZED, code, description);
    let challenge = format!("{SCHEME} realm=\"{REALM}\", charset=\"UTF-8\"");
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The user name and password of `Basic <base64(user:password)>`
/// credentials (RFC 7617 2: the user name ends at the first colon).
pub fn decode(credentials: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(credentials.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The user these credentials belong to. Every user is compared in full.
fn find<'a>(users: &'a [BasicUser], username: &str, password: &str) -> Option<&'a BasicUser> {
    let mut found = None;
    for user in users {
        let name = aws_lc_rs::constant_time::verify_slices_are_equal(
            user.username.as_bytes(),
            username.as_bytes(),
        )
        .is_ok();
        let pass = user.password.matches(password);
        if name & pass && found.is_none() {
            found = Some(user);
        }
    }
    found
}

/// `GET /basic/orders`.
pub async fn orders(State(state): State<BrandApiState>, headers: HeaderMap) -> Response {
    let (scheme, credentials) = match authorization(&headers) {
        Ok(Some(parts)) => parts,
        Ok(None) => {
            return refuse(
                "credentials_required",
                "this route needs HTTP Basic credentials: Authorization: Basic base64(user:password)",
            );
        }
        Err(e) => return refuse("invalid_credentials", &e),
    };
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return refuse(
            "invalid_credentials",
            "this route takes HTTP Basic credentials, not another Authorization scheme",
        );
    }
    let Some((username, password)) = decode(credentials) else {
        return refuse(
            "invalid_credentials",
            "the Basic credentials are not base64 of user:password",
        );
    };
    let Some(user) = find(&state.fixtures().basic_users, &username, &password) else {
        return refuse("invalid_credentials", "unknown user or wrong password");
    };
    super::orders::of_caller(&state, [("username", json!(username))], user.sub.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, password: &str) -> BasicUser {
        BasicUser {
            username: name.into(),
            password: Secret::new(password),
            sub: "s".into(),
        }
    }

    #[test]
    fn credentials_decode_at_the_first_colon() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            decode(&b64("partner:pa:ss")),
            Some(("partner".into(), "pa:ss".into()))
        );
        assert_eq!(decode(&b64("no-colon")), None);
        assert_eq!(decode("not base64!"), None);
    }

    #[test]
    fn only_the_right_pair_is_found() {
        let users = [user("a", "pa"), user("b", "pb")];
        assert_eq!(find(&users, "b", "pb").unwrap().username, "b");
        assert!(find(&users, "a", "pb").is_none());
        assert!(find(&users, "c", "pa").is_none());
        assert!(find(&users, "a", "").is_none());
    }

    #[test]
    fn user_names_with_colons_are_refused() {
        assert!(user("a:b", "p").validate().is_err());
        assert!(user("", "p").validate().is_err());
        assert!(user("a", "").validate().is_err());
        assert!(user("a", "p").validate().is_ok());
    }
}
