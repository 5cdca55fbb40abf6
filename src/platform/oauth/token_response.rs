//! Reading a token endpoint's answer (RFC 6749 5.1 and 5.2) the way real
//! identity providers send it: tolerant where the standards allow or where
//! a departure costs nothing, strict where a mistake would hand the wrong
//! thing to an API.
//!
//! Tolerated, each recorded as a [`Departure`] naming the rule it departs
//! from (the platform logs it as an event of the conversation or
//! credential):
//! - `expires_in` as a numeric string (Entra ID v1, some gateways), or
//!   absent (Salesforce): the token is then used until the API answers 401;
//! - `token_type` absent (LinkedIn): taken as Bearer; any case is standard
//!   (RFC 6749 5.1, "case insensitive"), not a departure;
//! - `scope` as a JSON array (Twitch) or absent (RFC 6749 5.1 allows absent:
//!   "as requested");
//! - a content type other than `application/json` around a JSON body
//!   (`text/plain`, `text/javascript`), a form-encoded body (GitHub without
//!   `Accept`), members that are `null`;
//! - unknown members (`ext_expires_in`, `refresh_expires_in`,
//!   `instance_url`, ...), ignored as RFC 6749 5.1 says.
//!
//! Refused, with an error naming exactly what came back (status, content
//! type, member names; never a value): no `access_token`; a `token_type`
//! other than Bearer; an `error` member in a 200 answer (GitHub, Slack); a
//! body that is neither JSON nor a form; a non-2xx answer (an RFC 6749 5.2
//! error when it has one, its `error_description` sanitised).

use serde_json::{Map, Value};

use crate::secret::Secret;

/// A tolerated departure from the standard.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Departure {
    /// Stable: `expires_in_string`, `expires_in_missing`,
    /// `expires_in_invalid`, `token_type_missing`, `scope_array`,
    /// `content_type`, `form_encoded`, `null_members`.
    pub code: &'static str,
    /// The rule departed from, e.g. `RFC 6749 5.1`.
    pub rule: &'static str,
    /// What was seen (never a value of a secret member).
    pub detail: String,
}

/// A successful token response.
pub struct TokenResponse {
    pub access_token: Secret,
    /// Seconds, when the response gave a usable lifetime.
    pub expires_in: Option<u64>,
    pub refresh_token: Option<Secret>,
    pub id_token: Option<Secret>,
    /// Space-separated, when given.
    pub scope: Option<String>,
    pub departures: Vec<Departure>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.is_some())
            .field("id_token", &self.id_token.is_some())
            .field("scope", &self.scope)
            .field("departures", &self.departures)
            .finish_non_exhaustive()
    }
}

/// Why no token came back. `Display` never holds a token, code or secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// An RFC 6749 5.2 error response.
    #[error("the token endpoint refused with {code} (HTTP {status}){}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Refused {
        status: u16,
        code: String,
        description: Option<String>,
    },
    /// HTTP 429 that could not be waited out within the time limit.
    #[error("rate limited by the IdP (HTTP 429{})", retry_after.map(|s| format!(", Retry-After {s} s")).unwrap_or_default())]
    RateLimited { retry_after: Option<u64> },
    /// A non-2xx answer that is not an RFC 6749 5.2 error.
    #[error(
        "the token endpoint answered HTTP {status} ({content_type}) without an RFC 6749 5.2 error body"
    )]
    Status { status: u16, content_type: String },
    /// An error member in a 2xx answer.
    #[error(
        "the token endpoint answered HTTP {status} with an error body ({code}): an error must come with HTTP 400 or 401 (RFC 6749 5.2)"
    )]
    ErrorWithSuccess { status: u16, code: String },
    /// Neither JSON nor a form.
    #[error(
        "the token endpoint answered HTTP {status} with {content_type}, not a JSON token response (RFC 6749 5.1)"
    )]
    NotJson { status: u16, content_type: String },
    /// JSON, but no usable `access_token`.
    #[error("the token response has no access_token (RFC 6749 5.1); its members are: {members}")]
    NoAccessToken { members: String },
    #[error("the token response's token_type is {0:?}, not Bearer (RFC 6750)")]
    NotBearer(String),
    /// The request could not be made or timed out.
    #[error("the token endpoint could not be reached or timed out")]
    Unreachable,
    #[error("{0}")]
    Config(String),
}

impl TokenError {
    /// The RFC 6749 5.2 `error` code, when the token endpoint answered one.
    pub fn code(&self) -> Option<&str> {
        match self {
            TokenError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Printable, bounded text from the other side.
pub fn sanitise(text: &str) -> String {
    text.chars()
        .filter(|c| (' '..='~').contains(c))
        .take(200)
        .collect()
}

/// The media type of a `Content-Type`, lower case, without parameters.
fn media_type(content_type: Option<&str>) -> String {
    content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The body as a JSON object: JSON, or a form (whose values are strings).
fn object(body: &[u8], media: &str, departures: &mut Vec<Departure>) -> Option<Map<String, Value>> {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        if media != "application/json" && !media.ends_with("+json") {
            departures.push(Departure {
                code: "content_type",
                rule: "RFC 6749 5.1",
                detail: format!(
                    "JSON sent as {:?} instead of application/json",
                    if media.is_empty() { "(none)" } else { media }
                ),
            });
        }
        return Some(map);
    }
    if media == "application/x-www-form-urlencoded" || (media.starts_with("text/plain")) {
        let text = std::str::from_utf8(body).ok()?;
        if !text.contains('=') || text.trim_start().starts_with('<') {
            return None;
        }
        let mut map = Map::new();
        for (k, v) in url::form_urlencoded::parse(text.trim().as_bytes()) {
            map.insert(k.into_owned(), Value::String(v.into_owned()));
        }
        departures.push(Departure {
            code: "form_encoded",
            rule: "RFC 6749 5.1",
            detail: "a form-encoded body instead of JSON".into(),
        });
        return Some(map);
    }
    None
}

fn members(map: &Map<String, Value>) -> String {
    let mut names: Vec<&str> = map.keys().map(String::as_str).collect();
    names.sort_unstable();
    if names.is_empty() {
        "none".into()
    } else {
        names
            .iter()
            .map(|n| sanitise(n))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// An RFC 6749 5.2 error in `map`, if it has one.
fn error_of(map: &Map<String, Value>) -> Option<(String, Option<String>)> {
    let code = map.get("error")?.as_str()?;
    let description = map
        .get("error_description")
        .and_then(Value::as_str)
        .map(sanitise);
    Some((sanitise(code), description))
}

/// Read a token endpoint's answer: `status`, its `Content-Type`, its body.
pub fn read(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<TokenResponse, TokenError> {
    let media = media_type(content_type);
    let shown_type = if media.is_empty() {
        "no content type".to_string()
    } else {
        sanitise(&media)
    };
    let mut departures = Vec::new();
    let map = object(body, &media, &mut departures);
    if !(200..300).contains(&status) {
        if status == 429 {
            return Err(TokenError::RateLimited { retry_after: None });
        }
        return Err(match map.as_ref().and_then(error_of) {
            Some((code, description)) => TokenError::Refused {
                status,
                code,
                description,
            },
            None => TokenError::Status {
                status,
                content_type: shown_type,
            },
        });
    }
    let Some(mut map) = map else {
        return Err(TokenError::NotJson {
            status,
            content_type: shown_type,
        });
    };
    if let Some((code, _)) = error_of(&map) {
        return Err(TokenError::ErrorWithSuccess { status, code });
    }
    let nulls: Vec<String> = map
        .iter()
        .filter(|(_, v)| v.is_null())
        .map(|(k, _)| sanitise(k))
        .collect();
    if !nulls.is_empty() {
        map.retain(|_, v| !v.is_null());
        departures.push(Departure {
            code: "null_members",
            rule: "RFC 6749 5.1",
            detail: format!(
                "members sent as null instead of left out: {}",
                nulls.join(", ")
            ),
        });
    }
    let access_token = match map.get("access_token") {
        Some(Value::String(t)) if !t.is_empty() => Secret::new(t.clone()),
        _ => {
            return Err(TokenError::NoAccessToken {
                members: members(&map),
            });
        }
    };
    match map.get("token_type") {
        None => departures.push(Departure {
            code: "token_type_missing",
            rule: "RFC 6749 5.1",
            detail: "no token_type; taken as Bearer".into(),
        }),
        Some(Value::String(t)) if t.eq_ignore_ascii_case("bearer") => {}
        Some(Value::String(t)) => return Err(TokenError::NotBearer(sanitise(t))),
        Some(other) => return Err(TokenError::NotBearer(sanitise(&other.to_string()))),
    }
    let expires_in = match map.get("expires_in") {
        None => {
            departures.push(Departure {
                code: "expires_in_missing",
                rule: "RFC 6749 5.1 (RECOMMENDED)",
                detail: "no expires_in: the token is used until the API answers 401".into(),
            });
            None
        }
        Some(Value::Number(n)) => match n.as_u64() {
            Some(s) => Some(s),
            None => {
                departures.push(invalid_lifetime(&n.to_string()));
                None
            }
        },
        Some(Value::String(s)) => match s.trim().parse::<u64>() {
            Ok(secs) => {
                departures.push(Departure {
                    code: "expires_in_string",
                    rule: "RFC 6749 5.1",
                    detail: format!("expires_in sent as the string {:?}", sanitise(s)),
                });
                Some(secs)
            }
            Err(_) => {
                departures.push(invalid_lifetime(s));
                None
            }
        },
        Some(other) => {
            departures.push(invalid_lifetime(&other.to_string()));
            None
        }
    };
    let scope = match map.get("scope") {
        None => None,
        Some(Value::String(s)) => Some(s.split_whitespace().collect::<Vec<_>>().join(" ")),
        Some(Value::Array(items)) => {
            departures.push(Departure {
                code: "scope_array",
                rule: "RFC 6749 3.3",
                detail: "scope sent as a JSON array instead of a space-separated string".into(),
            });
            Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        }
        Some(_) => None,
    };
    let text = |name: &str| match map.get(name) {
        Some(Value::String(t)) if !t.is_empty() => Some(Secret::new(t.clone())),
        _ => None,
    };
    Ok(TokenResponse {
        access_token,
        expires_in,
        refresh_token: text("refresh_token"),
        id_token: text("id_token"),
        scope: scope.filter(|s| !s.is_empty()),
        departures,
    })
}

fn invalid_lifetime(seen: &str) -> Departure {
    Departure {
        code: "expires_in_invalid",
        rule: "RFC 6749 5.1",
        detail: format!(
            "expires_in {:?} is not a number of seconds; ignored, the token is used until the API answers 401",
            sanitise(seen)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const JSON: Option<&str> = Some("application/json");

    fn ok(status: u16, ct: Option<&str>, body: &str) -> TokenResponse {
        read(status, ct, body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e}"))
    }

    fn codes(r: &TokenResponse) -> Vec<&'static str> {
        r.departures.iter().map(|d| d.code).collect()
    }

    /// Real-world token responses, each with what the reader makes of it.
    #[test]
    fn real_world_token_responses() {
        // RFC 6749 5.1's own example, with a charset parameter.
        let r = ok(
            200,
            Some("application/json;charset=UTF-8"),
            r#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"bearer","expires_in":3600}"#,
        );
        assert_eq!((r.expires_in, codes(&r)), (Some(3600), vec![]));

        // Entra ID v1: lifetimes as strings, extra members.
        let r = ok(
            200,
            JSON,
            r#"{"token_type":"Bearer","scope":"User.Read","expires_in":"3599","ext_expires_in":"3599","expires_on":"1700000000","resource":"https://graph","access_token":"eyJ0","refresh_token":"0.AAA","id_token":"eyJ1"}"#,
        );
        assert_eq!(r.expires_in, Some(3599));
        assert_eq!(codes(&r), ["expires_in_string"]);
        assert!(r.refresh_token.is_some() && r.id_token.is_some());

        // Salesforce: no expires_in, issued_at, instance_url, signature.
        let r = ok(
            200,
            JSON,
            r#"{"access_token":"00D","signature":"x","scope":"api id","instance_url":"https://x.my.salesforce.com","id":"https://login.salesforce.com/id/00D/005","token_type":"Bearer","issued_at":"1700000000000"}"#,
        );
        assert_eq!(r.expires_in, None);
        assert_eq!(codes(&r), ["expires_in_missing"]);
        assert_eq!(r.scope.as_deref(), Some("api id"));

        // Auth0 / Okta / Keycloak: standard, with extra members.
        let r = ok(
            200,
            JSON,
            r#"{"access_token":"a","refresh_expires_in":1800,"token_type":"Bearer","not-before-policy":0,"session_state":"s","scope":"openid profile","expires_in":300,"id_token":"i"}"#,
        );
        assert_eq!((r.expires_in, codes(&r)), (Some(300), vec![]));

        // LinkedIn: no token_type.
        let r = ok(200, JSON, r#"{"access_token":"AQV","expires_in":5183999}"#);
        assert_eq!(codes(&r), ["token_type_missing"]);

        // Twitch: scope as an array.
        let r = ok(
            200,
            JSON,
            r#"{"access_token":"a","expires_in":14346,"refresh_token":"r","scope":["user:read:email","chat:read"],"token_type":"bearer"}"#,
        );
        assert_eq!(r.scope.as_deref(), Some("user:read:email chat:read"));
        assert_eq!(codes(&r), ["scope_array"]);

        // GitHub without Accept: a form.
        let r = ok(
            200,
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            "access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=repo%2Cgist&token_type=bearer",
        );
        assert_eq!(codes(&r), ["form_encoded", "expires_in_missing"]);

        // JSON as text/plain or text/javascript (old Facebook Graph).
        let r = ok(
            200,
            Some("text/javascript; charset=UTF-8"),
            r#"{"access_token":"EAAB","token_type":"bearer","expires_in":5183944}"#,
        );
        assert_eq!(codes(&r), ["content_type"]);

        // Members sent as null.
        let r = ok(
            200,
            JSON,
            r#"{"access_token":"a","token_type":"Bearer","expires_in":60,"refresh_token":null,"scope":null}"#,
        );
        assert_eq!(codes(&r), ["null_members"]);
        assert!(r.refresh_token.is_none());

        // A lifetime that is no number of seconds.
        let r = ok(
            200,
            JSON,
            r#"{"access_token":"a","token_type":"Bearer","expires_in":-5}"#,
        );
        assert_eq!(
            (r.expires_in, codes(&r)),
            (None, vec!["expires_in_invalid"])
        );
    }

    #[test]
    fn what_must_not_be_taken_is_refused_naming_what_came_back() {
        // GitHub and Slack: an error with HTTP 200.
        let e = read(
            200,
            JSON,
            br#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#,
        )
        .unwrap_err();
        assert_eq!(
            e,
            TokenError::ErrorWithSuccess {
                status: 200,
                code: "bad_verification_code".into()
            }
        );
        let e = read(200, JSON, br#"{"ok":false,"error":"invalid_code"}"#).unwrap_err();
        assert!(matches!(e, TokenError::ErrorWithSuccess { .. }));

        // No access token: the member names, never a value.
        let e = read(
            200,
            JSON,
            br#"{"token":"secret-value","token_type":"Bearer"}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the token response has no access_token (RFC 6749 5.1); its members are: token, token_type"
        );
        assert!(!e.to_string().contains("secret-value"));

        // Not a bearer token.
        let e = read(200, JSON, br#"{"access_token":"a","token_type":"DPoP"}"#).unwrap_err();
        assert_eq!(e, TokenError::NotBearer("DPoP".into()));
        let e = read(200, JSON, br#"{"access_token":"a","token_type":"mac"}"#).unwrap_err();
        assert!(matches!(e, TokenError::NotBearer(_)));

        // An HTML page.
        let e = read(200, Some("text/html"), b"<html><body>Sign in</body></html>").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the token endpoint answered HTTP 200 with text/html, not a JSON token response (RFC 6749 5.1)"
        );

        // RFC 6749 5.2 errors, with a sanitised description.
        let e = read(
            400,
            JSON,
            b"{\"error\":\"invalid_grant\",\"error_description\":\"code\\r\\nexpired\"}",
        )
        .unwrap_err();
        assert_eq!(
            e,
            TokenError::Refused {
                status: 400,
                code: "invalid_grant".into(),
                description: Some("codeexpired".into())
            }
        );
        let e = read(502, Some("text/html"), b"<h1>Bad gateway</h1>").unwrap_err();
        assert_eq!(
            e,
            TokenError::Status {
                status: 502,
                content_type: "text/html".into()
            }
        );
        assert!(matches!(
            read(429, None, b"").unwrap_err(),
            TokenError::RateLimited { .. }
        ));
    }

    proptest::proptest! {
        #[test]
        fn any_answer_is_read_or_refused_without_panicking(
            status in 100u16..600,
            ct in proptest::option::of("[a-z/+;= -]{0,30}"),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            let _ = read(status, ct.as_deref(), &body);
        }

        #[test]
        fn any_json_object_is_read_or_refused_without_panicking(
            members in proptest::collection::btree_map(
                proptest::prop_oneof![
                    proptest::strategy::Just("access_token".to_string()),
                    proptest::strategy::Just("token_type".to_string()),
                    proptest::strategy::Just("expires_in".to_string()),
                    proptest::strategy::Just("scope".to_string()),
                    proptest::strategy::Just("error".to_string()),
                    "[a-z_]{1,8}",
                ],
                proptest::prop_oneof![
                    proptest::strategy::Just(Value::Null),
                    proptest::prelude::any::<i64>().prop_map(Value::from),
                    "[ -~]{0,12}".prop_map(Value::from),
                    proptest::strategy::Just(serde_json::json!(["a", 1])),
                ],
                0..6,
            ),
        ) {
            let body = serde_json::to_vec(&members).unwrap();
            if let Ok(r) = read(200, JSON, &body) {
                proptest::prop_assert!(!r.access_token.expose().is_empty());
            }
        }
    }
}
