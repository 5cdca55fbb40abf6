//! The Consumer Authentication credential: a name and an authentication URL
//! (the brand's authorization endpoint with the client's parameters), sent
//! to the consumer with a fresh `state`, PKCE challenge and nonce added.
//!
//! Saving one checks the URL the way the authorization server will
//! (RFC 6749 3.1, 4.1.1): absolute, `client_id`, `response_type=code`,
//! `redirect_uri` pointing at this platform's callback for the
//! organisation, and `scope`. Each problem gets its own error. The source
//! documents once call the redirect parameter `redirectedCode`; a URL
//! spelled that way gets a specific hint to use `redirect_uri`.

use serde::{Deserialize, Serialize};
use url::Url;

use super::{FieldError, SaveContext, err};
use crate::platform::org::Org;

/// The callback path names this platform accepts (the documents show both).
pub const CALLBACK_NAMES: [&str; 2] = ["redirectCode", "redirectedCode"];

/// Parameters the platform adds to every link; a credential must not fix them.
const RESERVED: [&str; 4] = ["state", "code_challenge", "code_challenge_method", "nonce"];

/// A saved Consumer Authentication credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerAuth {
    /// The authentication URL as saved (no secrets in it: it goes to the consumer).
    pub url: Url,
    /// Its `redirect_uri`, which the code exchange must repeat (RFC 6749 4.1.3).
    pub redirect_uri: String,
}

/// The fields of a Consumer Authentication credential as saved.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    #[serde(default)]
    pub url: String,
}

/// Validate a saved body (see [`validate`]).
pub fn from_input(
    name: &str,
    input: Input,
    ctx: &SaveContext<'_>,
) -> Result<ConsumerAuth, Vec<FieldError>> {
    validate(name, &input.url, ctx.org, ctx.platform_url)
}

/// The callback URLs of `org` on a platform reachable at `platform_url`.
pub fn callback_urls(platform_url: &str, org: &str) -> [String; 2] {
    let base = platform_url.trim_end_matches('/');
    CALLBACK_NAMES.map(|name| format!("{base}/callback/{org}/{name}"))
}

/// Validate a credential for `org` on the platform at `platform_url`.
pub fn validate(
    name: &str,
    url: &str,
    org: &Org,
    platform_url: &str,
) -> Result<ConsumerAuth, Vec<FieldError>> {
    let mut errors = Vec::new();
    super::check_name(name, &mut errors);
    let parsed = match Url::parse(url.trim()) {
        Ok(u) if u.has_host() && matches!(u.scheme(), "http" | "https") => Some(u),
        _ => {
            errors.push(err(
                "url",
                "not_absolute",
                "the authentication URL must be an absolute http(s) URL, e.g. https://login.brand.example/authorize?...",
            ));
            None
        }
    };
    let mut redirect_uri = String::new();
    if let Some(u) = &parsed {
        check_url(u, org, platform_url, &mut errors, &mut redirect_uri);
    }
    match (errors.is_empty(), parsed) {
        (true, Some(url)) => Ok(ConsumerAuth { url, redirect_uri }),
        _ => Err(errors),
    }
}

fn check_url(
    u: &Url,
    org: &Org,
    platform_url: &str,
    errors: &mut Vec<FieldError>,
    redirect_uri: &mut String,
) {
    let loopback = matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if u.scheme() == "http" && !loopback {
        errors.push(err(
            "url",
            "insecure_scheme",
            "the authentication URL must use https (http only on loopback)",
        ));
    }
    if u.fragment().is_some() {
        errors.push(err(
            "url",
            "fragment",
            "the authentication URL must not have a #fragment",
        ));
    }
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut seen = std::collections::HashSet::new();
    for (k, _) in &pairs {
        if !seen.insert(k.as_str()) {
            errors.push(err(
                "url",
                "repeated_parameter",
                format!("the parameter {k} appears more than once (RFC 6749 3.1)"),
            ));
        }
        if RESERVED.contains(&k.as_str()) {
            errors.push(err(
                "url",
                "reserved_parameter",
                format!("remove {k}: the platform adds a fresh one to every link"),
            ));
        }
    }
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };

    match get("client_id") {
        None | Some("") => errors.push(err(
            "client_id",
            "missing",
            "add client_id: the client id the brand registered for this platform",
        )),
        Some(id) if org.provider.client_id != id => errors.push(err(
            "client_id",
            "mismatch",
            format!(
                "client_id {id:?} is not the organisation's delegated access client {:?}",
                org.provider.client_id
            ),
        )),
        Some(_) => {}
    }
    match get("response_type") {
        None | Some("") => errors.push(err(
            "response_type",
            "missing",
            "add response_type=code (authorization code flow)",
        )),
        Some("code") => {}
        Some(other) => errors.push(err(
            "response_type",
            "unsupported",
            format!("response_type must be code, not {other:?}"),
        )),
    }
    let expected = callback_urls(platform_url, org.id.as_str());
    match get("redirect_uri") {
        Some(uri) if expected.iter().any(|e| e == uri) => *redirect_uri = uri.to_string(),
        Some(uri) => errors.push(err(
            "redirect_uri",
            "mismatch",
            format!(
                "redirect_uri {uri:?} is not this platform's callback; use {} (or {})",
                expected[0], expected[1]
            ),
        )),
        None if get("redirectedCode").is_some() => errors.push(err(
            "redirect_uri",
            "redirected_code_parameter",
            format!(
                "the parameter is called redirect_uri (RFC 6749 3.1.2), not redirectedCode; use redirect_uri={}",
                expected[0]
            ),
        )),
        None => errors.push(err(
            "redirect_uri",
            "missing",
            format!("add redirect_uri={}", expected[0]),
        )),
    }
    match get("scope") {
        Some(s) if !s.trim().is_empty() => {}
        _ => errors.push(err(
            "scope",
            "missing",
            "add scope: the scopes the bot's integrations need, e.g. scope=openid orders:read",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::org::{DelegatedAccessProvider, OrgId};
    use crate::secret::Secret;

    const PLATFORM: &str = "http://127.0.0.1:8402";

    fn org() -> Org {
        Org {
            id: OrgId::parse("demo").unwrap(),
            name: None,
            provider: DelegatedAccessProvider {
                issuer: Some(crate::platform::org::Issuer::parse("http://127.0.0.1:8400").unwrap()),
                token_endpoint: None,
                client_id: "demo-bot".into(),
                client_secret: Secret::new("demo-bot-secret"),
                token_endpoint_auth: None,
            },
            admin_token: None,
        }
    }

    fn codes(url: &str) -> Vec<(&'static str, &'static str)> {
        match validate("login", url, &org(), PLATFORM) {
            Ok(_) => vec![],
            Err(e) => e.into_iter().map(|e| (e.field, e.code)).collect(),
        }
    }

    const GOOD: &str = "http://127.0.0.1:8400/authorize?client_id=demo-bot&response_type=code&redirect_uri=http://127.0.0.1:8402/callback/demo/redirectCode&scope=openid%20orders:read";

    #[test]
    fn a_complete_url_is_accepted() {
        let c = validate("login", GOOD, &org(), PLATFORM).unwrap();
        assert_eq!(
            c.redirect_uri,
            "http://127.0.0.1:8402/callback/demo/redirectCode"
        );
        let alt = GOOD.replace("redirectCode", "redirectedCode");
        assert_eq!(codes(&alt), vec![]);
    }

    #[test]
    fn each_missing_parameter_has_its_own_error() {
        assert_eq!(
            codes("http://127.0.0.1:8400/authorize"),
            vec![
                ("client_id", "missing"),
                ("response_type", "missing"),
                ("redirect_uri", "missing"),
                ("scope", "missing")
            ]
        );
        assert_eq!(
            codes("/authorize?client_id=x"),
            vec![("url", "not_absolute")]
        );
    }

    #[test]
    fn wrong_values_are_named() {
        assert_eq!(
            codes(&GOOD.replace("response_type=code", "response_type=token")),
            vec![("response_type", "unsupported")]
        );
        assert_eq!(
            codes(&GOOD.replace("client_id=demo-bot", "client_id=other")),
            vec![("client_id", "mismatch")]
        );
        assert_eq!(
            codes(&GOOD.replace("8402/callback/demo", "8402/callback/acme")),
            vec![("redirect_uri", "mismatch")]
        );
        assert_eq!(
            codes(&GOOD.replace("http://127.0.0.1:8400", "http://idp.example")),
            vec![("url", "insecure_scheme")]
        );
        assert_eq!(
            codes(&format!("{GOOD}&state=fixed")),
            vec![("url", "reserved_parameter")]
        );
        assert_eq!(
            codes(&format!("{GOOD}&scope=email")),
            vec![("url", "repeated_parameter")]
        );
    }

    #[test]
    fn the_redirected_code_spelling_gets_a_hint() {
        let e = validate(
            "login",
            &GOOD.replace("redirect_uri=", "redirectedCode="),
            &org(),
            PLATFORM,
        )
        .unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].code, "redirected_code_parameter");
        assert!(e[0].message.contains("redirect_uri"), "{}", e[0].message);
    }
}
