//! The Basic Authentication credential: a user name and a password, sent
//! as `Authorization: Basic base64(user:password)` (RFC 7617).
//!
//! RFC 7617 2 forbids a colon in the user id (the first colon splits user
//! from password) and control characters in either; both are refused when
//! saved rather than producing a header the API will misread.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{FieldError, SaveContext, err, required};
use crate::secret::Secret;

/// A saved Basic Authentication credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basic {
    pub username: String,
    pub password: Secret,
}

/// The fields as saved.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: Option<Secret>,
}

/// Validate: a user name without `:` or control characters, a password
/// without control characters.
pub fn from_input(input: Input, _ctx: &SaveContext<'_>) -> Result<Basic, Vec<FieldError>> {
    let mut errors = Vec::new();
    if required(&input.username, "username", "the user name", &mut errors) {
        if input.username.contains(':') {
            errors.push(err(
                "username",
                "colon",
                "the user name must not contain ':' (RFC 7617 2: the first colon separates user and password)",
            ));
        }
        if input.username.chars().any(char::is_control) {
            errors.push(err(
                "username",
                "control_character",
                "the user name must not contain control characters",
            ));
        }
    }
    match &input.password {
        None => errors.push(err("password", "missing", "the password is required")),
        Some(p) if p.expose().is_empty() => {
            errors.push(err("password", "missing", "the password is required"))
        }
        Some(p) if p.expose().chars().any(char::is_control) => errors.push(err(
            "password",
            "control_character",
            "the password must not contain control characters",
        )),
        Some(_) => {}
    }
    match (errors.is_empty(), input.password) {
        (true, Some(password)) => Ok(Basic {
            username: input.username,
            password,
        }),
        _ => Err(errors),
    }
}

impl Basic {
    /// The `Authorization` header value.
    pub fn authorization(&self) -> Secret {
        let raw = format!("{}:{}", self.username, self.password.expose());
        Secret::new(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::platform::org::{DelegatedAccessProvider, Org, OrgId};

    pub(crate) fn ctx_org() -> Org {
        Org {
            id: OrgId::parse("demo").unwrap(),
            name: None,
            provider: DelegatedAccessProvider {
                issuer: None,
                token_endpoint: Some("http://127.0.0.1:1/token".parse().unwrap()),
                client_id: "c".into(),
                client_secret: Secret::new("s"),
                token_endpoint_auth: None,
            },
            admin_token: None,
        }
    }

    fn codes(user: &str, pw: Option<&str>) -> Vec<(&'static str, &'static str)> {
        let org = ctx_org();
        let ctx = SaveContext {
            org: &org,
            platform_url: "http://127.0.0.1:8402",
            now: crate::clock::Instant::UNIX_EPOCH,
        };
        let input = Input {
            username: user.into(),
            password: pw.map(Secret::new),
        };
        match from_input(input, &ctx) {
            Ok(_) => vec![],
            Err(e) => e.into_iter().map(|e| (e.field, e.code)).collect(),
        }
    }

    #[test]
    fn each_fault_has_its_own_code() {
        assert_eq!(codes("bot", Some("pw")), vec![]);
        assert_eq!(
            codes("", None),
            vec![("username", "missing"), ("password", "missing")]
        );
        assert_eq!(codes("a:b", Some("pw")), vec![("username", "colon")]);
        assert_eq!(
            codes("bot", Some("p\nw")),
            vec![("password", "control_character")]
        );
    }

    #[test]
    fn the_header_is_rfc_7617() {
        let b = Basic {
            username: "Aladdin".into(),
            password: Secret::new("open sesame"),
        };
        assert_eq!(
            b.authorization().expose(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert!(!format!("{b:?}").contains("sesame"));
    }
}
