//! What the two OAuth 2.0 credential kinds ([`super::oauth2_authorization_code`],
//! [`super::oauth2_client_credentials`]) share: the rules for their endpoint
//! URLs, client ids, secrets and scopes; the token endpoint client; one
//! flight per credential; when a stored token counts as fresh; the answer
//! to "Authorize" for a credential of another kind; and the token status
//! route.
//!
//! Token requests go through the platform's one token request
//! ([`crate::platform::oauth::token_request`]: RFC 6749 4.1.3, 4.4, 6,
//! client authentication `client_secret_basic`, RFC 6749 2.3.1) and its
//! lenient reader, over reqwest with redirects off and the platform's
//! timeout.
//! Tokens are kept in the vault, sealed like the credentials
//! ([`super::Vault::put_token`]).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/orgs/{org}/credentials/{name}/token` | `{"authorized", "expires_at", "expired", "refresh_token_present", "scope", "obtained_at"}`: never a token |

use std::net::IpAddr;

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tracing::instrument;
use url::{Host, Url};

use super::oauth2_authorization_code::Pending;
use super::{FieldError, Kind, StoredToken, err};
use crate::clock::{Clock, Instant};
use crate::platform::PlatformState;
use crate::platform::oauth::outbound::OutboundLog;
use crate::platform::oauth::single_flight::{Flight, SingleFlight};
use crate::platform::oauth::state_store::StateStore;
use crate::platform::oauth::token_request::{self, ClientAuthMethod, Grant};
pub use crate::platform::oauth::token_response::TokenError;
use crate::platform::oauth::token_response::TokenResponse;
use crate::platform::org::OrgId;
use crate::secret::{PkceVerifier, Secret};
use crate::wire::ClientId;

/// A token is used until this many seconds before its expiry (or a
/// quarter of its lifetime, when that is shorter), then obtained afresh
/// ([`crate::platform::oauth::held_token`], `Margin::Early`).
pub const EXPIRY_MARGIN_SECS: u64 = crate::platform::oauth::held_token::EARLY_SECS;

/// Whether `token` may still be presented at `now`; a token without
/// `expires_in` never expires here (the API's 401 drops it).
pub fn fresh(token: &StoredToken, now: Instant) -> bool {
    use crate::platform::oauth::held_token::{Margin, usable};
    usable(token.expires_at, token.obtained_at, now, Margin::Early)
}

/// Loopback hosts, where `http` is allowed (RFC 8252 7.3 spirit: nothing
/// leaves the machine).
fn loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// An endpoint URL of the authorization server: absolute `http(s)`,
/// `https` except on loopback, no `#fragment` (RFC 6749 3.1, 3.2), no
/// user name or password in it (reads show URLs). `Some` when it passed.
pub fn endpoint_url(
    value: &str,
    field: &'static str,
    what: &str,
    example: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Url> {
    let value = value.trim();
    if value.is_empty() {
        errors.push(err(
            field,
            "missing",
            format!("the {what} is required, e.g. {example}"),
        ));
        return None;
    }
    let url = match Url::parse(value) {
        Ok(u) if u.has_host() && matches!(u.scheme(), "http" | "https") => u,
        _ => {
            errors.push(err(
                field,
                "not_absolute",
                format!("the {what} must be an absolute http(s) URL, e.g. {example}"),
            ));
            return None;
        }
    };
    let before = errors.len();
    if url.scheme() == "http" && !loopback(&url) {
        errors.push(err(
            field,
            "insecure_scheme",
            format!("the {what} must use https (http only on loopback)"),
        ));
    }
    if url.fragment().is_some() {
        errors.push(err(
            field,
            "fragment",
            format!("the {what} must not have a #fragment (RFC 6749 3.1)"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        errors.push(err(
            field,
            "credentials_in_url",
            format!(
                "the {what} must not carry a user name or password; the client secret goes in client_secret"
            ),
        ));
    }
    (errors.len() == before).then_some(url)
}

/// RFC 6749 A.1: a client id is `*VSCHAR` (printable ASCII).
pub fn client_id(value: &str, errors: &mut Vec<FieldError>) -> bool {
    if !super::required(value, "client_id", "the client ID", errors) {
        return false;
    }
    if !value.chars().all(|c| (' '..='~').contains(&c)) {
        errors.push(err(
            "client_id",
            "invalid",
            "the client ID is printable ASCII (RFC 6749 A.1); check for pasted line breaks or quotes",
        ));
        return false;
    }
    true
}

/// RFC 6749 A.2: a client secret is `*VSCHAR` and, here, not empty.
pub fn client_secret(value: &Option<Secret>, errors: &mut Vec<FieldError>) {
    match value {
        None => errors.push(err(
            "client_secret",
            "missing",
            "the client secret is required",
        )),
        Some(s) if s.expose().is_empty() => errors.push(err(
            "client_secret",
            "missing",
            "the client secret is required",
        )),
        Some(s) if !s.expose().chars().all(|c| (' '..='~').contains(&c)) => errors.push(err(
            "client_secret",
            "invalid",
            "the client secret is printable ASCII (RFC 6749 A.2); check for pasted line breaks",
        )),
        Some(_) => {}
    }
}

/// RFC 6749 3.3 `scope-token`: `%x21 / %x23-5B / %x5D-7E`.
fn is_nqchar(c: char) -> bool {
    c == '!' || ('#'..='[').contains(&c) || (']'..='~').contains(&c)
}

/// The optional scope, passed as is: scope tokens separated by spaces
/// (RFC 6749 3.3). Blank is no scope; extra spaces are collapsed.
pub fn scope(value: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let words: Vec<&str> = value
        .unwrap_or_default()
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return None;
    }
    if words.iter().any(|w| !w.chars().all(is_nqchar)) {
        errors.push(err(
            "scope",
            "invalid",
            "the scope is words of printable ASCII without '\"' or '\\', separated by spaces (RFC 6749 3.3)",
        ));
        return None;
    }
    Some(words.join(" "))
}

/// The client side of one credential: who it is and where it asks.
pub struct ClientAuth<'a> {
    pub client_id: &'a ClientId,
    pub client_secret: &'a Secret,
    pub token_url: &'a Url,
}

impl ClientAuth<'_> {
    fn client(&self) -> token_request::Client<'_> {
        token_request::Client {
            id: self.client_id,
            secret: self.client_secret,
            method: ClientAuthMethod::ClientSecretBasic,
        }
    }
}

/// The token to keep from a 5.1 response obtained at `now`; the scope is
/// the one asked for when the response names none (RFC 6749 5.1).
fn stored(response: TokenResponse, now: Instant, asked: Option<&str>) -> StoredToken {
    let mut token = StoredToken::new(response.access_token, response.expires_in, now);
    token.refresh_token = response.refresh_token;
    token.scope = response.scope.or_else(|| asked.map(str::to_string));
    token
}

/// The shared state of the OAuth 2.0 kinds: the token endpoint client,
/// one flight per credential, and the authorizations in progress by
/// `state` (see [`super::oauth2_authorization_code`]). Locks inside are std mutexes,
/// never held across an `.await`; a flight is a tokio mutex, held across
/// the token request on purpose.
#[derive(Clone)]
pub struct OAuthTokens {
    http: reqwest::Client,
    timeout: Duration,
    log: OutboundLog,
    clock: Clock,
    flights: SingleFlight<(OrgId, String)>,
    pending: StateStore<Pending>,
}

impl std::fmt::Debug for OAuthTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthTokens").finish_non_exhaustive()
    }
}

impl OAuthTokens {
    pub fn new(timeout: Duration) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(timeout)
                .build()
                .expect("reqwest client builds with rustls"),
            timeout,
            log: OutboundLog::default(),
            clock: Clock::new(),
            flights: SingleFlight::default(),
            pending: StateStore::default(),
        }
    }

    /// Wait for, then hold, the one flight of credential `name` of `org`:
    /// whoever holds it is the only one asking the token endpoint for that
    /// credential. Callers re-read the vault once they hold it: the
    /// flight before them may have left a fresh token.
    pub async fn flight(&self, org: &OrgId, name: &str) -> Flight<(OrgId, String)> {
        self.flights.enter((org.clone(), name.to_string())).await
    }

    /// The authorizations in progress, by `state`.
    pub(super) fn pending(&self) -> &StateStore<Pending> {
        &self.pending
    }

    /// Log outbound requests to `log`, dated on `clock`.
    pub fn with_log(mut self, log: OutboundLog, clock: Clock) -> Self {
        self.log = log;
        self.clock = clock;
        self
    }

    async fn request(
        &self,
        client: &ClientAuth<'_>,
        grant: &Grant<'_>,
    ) -> Result<TokenResponse, TokenError> {
        let recorder = token_request::Recorder {
            log: &self.log,
            clock: &self.clock,
        };
        token_request::request(
            &self.http,
            client.token_url.as_str(),
            Some(&client.client()),
            grant,
            self.timeout,
            Some(&recorder),
        )
        .await
    }

    /// Exchange an authorization code (RFC 6749 4.1.3, RFC 7636 4.5): the
    /// `redirect_uri` and the PKCE verifier of the authorization request.
    #[instrument(skip_all)]
    pub async fn exchange_code(
        &self,
        client: &ClientAuth<'_>,
        code: &str,
        verifier: &PkceVerifier,
        redirect_uri: &str,
        asked: Option<&str>,
        now: Instant,
    ) -> Result<StoredToken, TokenError> {
        let grant = Grant::AuthorizationCode {
            code,
            redirect_uri,
            verifier: Some(verifier),
        };
        Ok(stored(self.request(client, &grant).await?, now, asked))
    }

    /// Refresh an access token (RFC 6749 6), for the scope first granted.
    #[instrument(skip_all)]
    pub async fn refresh(
        &self,
        client: &ClientAuth<'_>,
        refresh_token: &Secret,
        asked: Option<&str>,
        now: Instant,
    ) -> Result<StoredToken, TokenError> {
        let grant = Grant::RefreshToken {
            refresh_token,
            scope: None,
        };
        Ok(stored(self.request(client, &grant).await?, now, asked))
    }

    /// A client credentials grant (RFC 6749 4.4).
    #[instrument(skip_all)]
    pub async fn client_credentials(
        &self,
        client: &ClientAuth<'_>,
        scope: Option<&str>,
        now: Instant,
    ) -> Result<StoredToken, TokenError> {
        let grant = Grant::ClientCredentials { scope };
        Ok(stored(self.request(client, &grant).await?, now, scope))
    }
}

/// What a status read shows of a stored token: never a value.
pub fn status(token: Option<&StoredToken>, now: Instant) -> serde_json::Value {
    match token {
        None => json!({
            "authorized": false,
            "expires_at": null,
            "expired": null,
            "refresh_token_present": false,
            "scope": null,
            "obtained_at": null,
        }),
        Some(t) => {
            let is_fresh = fresh(t, now);
            json!({
                // Usable now, or renewable without the admin.
                "authorized": is_fresh || t.refresh_token.is_some(),
                "expires_at": t.expires_at,
                "expired": t.expires_at.map(|e| now >= e),
                "refresh_token_present": t.refresh_token.is_some(),
                "scope": t.scope,
                "obtained_at": t.obtained_at,
            })
        }
    }
}

/// The answer to "Authorize" on the route of one OAuth 2.0 kind for a
/// credential of another kind: the other OAuth 2.0 kind is authorised on
/// its own route (405, saying how); any other kind has nothing to
/// authorize (400).
pub fn not_authorizable(org: &OrgId, name: &str, kind: &Kind) -> Response {
    let (status, description) = match kind {
        Kind::OAuth2AuthorizationCode(_) => (
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "credential {name:?} uses the authorization code grant: open GET /api/orgs/{org}/credentials/{name}/authorize in a browser"
            ),
        ),
        Kind::OAuth2ClientCredentials(_) => (
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "credential {name:?} uses the client credentials grant: authorize it with POST, no browser involved"
            ),
        ),
        other => (
            StatusCode::BAD_REQUEST,
            format!(
                "credential {name:?} is a {} credential: there is nothing to authorize",
                other.type_name()
            ),
        ),
    };
    crate::platform::web::error(status, "invalid_request", description)
}

/// `GET /api/orgs/{org}/credentials/{name}/token`: whether an OAuth 2.0
/// credential holds a token, until when, and whether it can be refreshed.
/// `authorized` is true when the kept token can be presented now, or
/// renewed without the admin (it has a refresh token); a client
/// credentials token is fetched again on use either way.
pub async fn token_status(
    State(state): State<PlatformState>,
    Path((org, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (org, credential) = match super::http::authorised_credential(&state, &org, &name, &headers)
    {
        Ok(found) => found,
        Err(r) => return r,
    };
    match credential.kind {
        Kind::OAuth2AuthorizationCode(_) | Kind::OAuth2ClientCredentials(_) => {
            let token = state.vault.token(&org.id, &name);
            let mut body = status(token.as_ref(), state.clock.now());
            body["credential"] = json!(name);
            body["type"] = json!(credential.kind.type_name());
            Json(body).into_response()
        }
        other => crate::platform::web::error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!(
                "credential {name:?} is a {} credential; only OAuth 2.0 credentials hold a token",
                other.type_name()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::oauth::token_response::sanitise;

    fn token(obtained_at: i64, expires_at: Option<i64>) -> StoredToken {
        StoredToken {
            access_token: Secret::new("at"),
            refresh_token: None,
            expires_at: expires_at.map(Instant::from_unix_secs),
            scope: None,
            obtained_at: Instant::from_unix_secs(obtained_at),
        }
    }

    #[test]
    fn authorize_on_the_wrong_route_says_where_to_go() {
        let org = OrgId::parse("demo").unwrap();
        let url = |u: &str| Url::parse(u).unwrap();
        let code =
            Kind::OAuth2AuthorizationCode(super::super::oauth2_authorization_code::OAuthCode {
                client_id: "c".into(),
                client_secret: Secret::new("s"),
                scope: None,
                auth_url: url("https://login.example/authorize"),
                token_url: url("https://login.example/token"),
                redirect_uri: "http://127.0.0.1:8402/oauth2/callback".into(),
            });
        let client = Kind::OAuth2ClientCredentials(
            super::super::oauth2_client_credentials::ClientCredentials {
                client_id: "c".into(),
                client_secret: Secret::new("s"),
                scope: None,
                token_url: url("https://login.example/token"),
            },
        );
        let basic = Kind::BasicAuthentication(super::super::basic_authentication::Basic {
            username: "u".into(),
            password: Secret::new("p"),
        });
        let status = |kind: &Kind| not_authorizable(&org, "crm", kind).status();
        assert_eq!(status(&code), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(status(&client), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(status(&basic), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_token_is_renewed_shortly_before_it_expires() {
        let t = token(1000, Some(1300));
        let at = Instant::from_unix_secs;
        assert!(fresh(&t, at(1269)));
        assert!(!fresh(&t, at(1270)), "30 s margin");
        // A 40 s token: a quarter of its lifetime, 10 s.
        let short = token(1000, Some(1040));
        assert!(fresh(&short, at(1029)));
        assert!(!fresh(&short, at(1030)));
        assert!(fresh(&token(0, None), Instant::MAX));
    }

    fn url_codes(value: &str) -> Vec<&'static str> {
        let mut errors = Vec::new();
        endpoint_url(
            value,
            "token_url",
            "token URL",
            "https://x/token",
            &mut errors,
        );
        errors.into_iter().map(|e| e.code).collect()
    }

    #[test]
    fn endpoint_urls_are_checked_fault_by_fault() {
        assert!(url_codes("https://login.example/token?tenant=a").is_empty());
        assert!(url_codes("http://127.0.0.1:8400/token").is_empty());
        assert!(url_codes("http://localhost/token").is_empty());
        assert!(url_codes("http://[::1]:80/token").is_empty());
        assert_eq!(url_codes(""), vec!["missing"]);
        assert_eq!(url_codes("/token"), vec!["not_absolute"]);
        assert_eq!(url_codes("ftp://x/token"), vec!["not_absolute"]);
        assert_eq!(
            url_codes("http://login.example/token"),
            vec!["insecure_scheme"]
        );
        assert_eq!(url_codes("https://x/token#f"), vec!["fragment"]);
        assert_eq!(
            url_codes("http://u:p@login.example/t#f"),
            vec!["insecure_scheme", "fragment", "credentials_in_url"]
        );
    }

    #[test]
    fn scopes_are_rfc_6749_scope_tokens() {
        let mut errors = Vec::new();
        assert_eq!(
            scope(Some(" a  b:c "), &mut errors).as_deref(),
            Some("a b:c")
        );
        assert_eq!(scope(Some("  "), &mut errors), None);
        assert_eq!(scope(None, &mut errors), None);
        assert!(errors.is_empty());
        assert_eq!(scope(Some("a \"b\""), &mut errors), None);
        assert_eq!(errors[0].code, "invalid");
    }

    #[test]
    fn errors_show_no_secret_and_the_rfc_code() {
        let e = TokenError::Refused {
            status: 400,
            code: "invalid_grant".into(),
            description: Some("the code has expired".into()),
        };
        assert_eq!(
            e.to_string(),
            "the token endpoint refused with invalid_grant (HTTP 400): the code has expired"
        );
        assert_eq!(e.code(), Some("invalid_grant"));
        assert_eq!(sanitise("a\nb\u{7f}c"), "abc");
    }
}
