//! The OAuth 2.0 credential with the Authorization Code grant: the
//! brand's client id and secret, an optional scope, its authorization and
//! token endpoints. An admin authorises it once in a browser ("Authorize");
//! the platform keeps the token (sealed in the vault), presents it as
//! `Authorization: Bearer` on every integration call, and refreshes it
//! when it expires.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/orgs/{org}/credentials/{name}/authorize` | 302 to the auth URL with `response_type=code`, `client_id`, `redirect_uri`, `scope`, a fresh `state` and PKCE S256 (RFC 7636); again later to reauthorize |
//! | `GET /oauth2/callback` | the authorization response: the code is exchanged and the token kept; a small page says whether the credential is authorised, and why not |
//!
//! The `redirect_uri` is the platform's, `{platform}/oauth2/callback`,
//! shown in every read of the credential so the brand can register it.
//! A `state` is unguessable, single use, bound to one organisation and
//! credential, and expires on the shared clock after
//! `PlatformOptions::state_ttl_secs`. The code exchange repeats the
//! `redirect_uri` and the PKCE verifier, with `client_secret_basic`.
//!
//! On use, a token within [`oauth_tokens::EXPIRY_MARGIN_SECS`] of its
//! expiry is refreshed (RFC 6749 6) by one request per credential however
//! many conversations need it at once; a rotated refresh token replaces
//! the old one. Without a refresh token, or when the token endpoint
//! refuses the refresh, the integration is not called and the bot says
//! `reauthorize credential <name>`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use openidconnect::{PkceCodeChallenge, PkceCodeVerifier};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use url::Url;

use super::oauth_tokens::{self, ClientAuth, TokenError};
use super::{FieldError, Kind, SaveContext, StoredToken, err};
use crate::clock::Instant;
use crate::platform::PlatformState;
use crate::platform::credentials::auth::Auth;
use crate::platform::oauth::state_store::Refused;
use crate::platform::org::OrgId;
use crate::platform::web::error;
use crate::platform::web::{page, page_with_link};
use crate::secret::{PkceVerifier, Secret, random_token};
use crate::wire::ClientId;

/// The platform's redirect URI path for this kind (one for every
/// organisation and credential: the `state` says which).
pub const CALLBACK_PATH: &str = "/oauth2/callback";

/// Parameters the platform adds to the auth URL; a credential must not
/// fix them.
const RESERVED: [&str; 7] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];

/// A saved OAuth 2.0 Authorization Code credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthCode {
    pub client_id: ClientId,
    pub client_secret: Secret,
    #[serde(default)]
    pub scope: Option<String>,
    pub auth_url: Url,
    pub token_url: Url,
    /// Computed when saved: the URI to register at the brand.
    pub redirect_uri: String,
}

/// The fields as saved.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub auth_url: String,
    #[serde(default)]
    pub token_url: String,
}

/// The redirect URI of a platform reachable at `platform_url`.
pub fn redirect_uri(platform_url: &str) -> String {
    format!("{}{CALLBACK_PATH}", platform_url.trim_end_matches('/'))
}

/// Validate: every fault its own error.
pub fn from_input(input: Input, ctx: &SaveContext<'_>) -> Result<OAuthCode, Vec<FieldError>> {
    let mut errors = Vec::new();
    oauth_tokens::client_id(&input.client_id, &mut errors);
    oauth_tokens::client_secret(&input.client_secret, &mut errors);
    let scope = oauth_tokens::scope(input.scope.as_deref(), &mut errors);
    let auth_url = oauth_tokens::endpoint_url(
        &input.auth_url,
        "auth_url",
        "auth URL",
        "https://login.brand.example/oauth2/authorize",
        &mut errors,
    );
    if let Some(u) = &auth_url {
        let mut seen = std::collections::HashSet::new();
        for (k, _) in u.query_pairs() {
            if RESERVED.contains(&k.as_ref()) && seen.insert(k.to_string()) {
                errors.push(err(
                    "auth_url",
                    "reserved_parameter",
                    format!("remove {k} from the auth URL: the platform adds it to every authorization request"),
                ));
            }
        }
    }
    let token_url = oauth_tokens::endpoint_url(
        &input.token_url,
        "token_url",
        "token URL",
        "https://login.brand.example/oauth2/token",
        &mut errors,
    );
    match (errors.is_empty(), input.client_secret, auth_url, token_url) {
        (true, Some(client_secret), Some(auth_url), Some(token_url)) => Ok(OAuthCode {
            client_id: ClientId::new(input.client_id),
            client_secret,
            scope,
            auth_url,
            token_url,
            redirect_uri: redirect_uri(ctx.platform_url),
        }),
        _ => Err(errors),
    }
}

impl OAuthCode {
    fn client(&self) -> ClientAuth<'_> {
        ClientAuth {
            client_id: &self.client_id,
            client_secret: &self.client_secret,
            token_url: &self.token_url,
        }
    }
}

/// An authorization in progress, under its `state`.
#[derive(Clone, Debug)]
pub struct Pending {
    pub org: OrgId,
    pub credential: String,
    /// The credential as it was when authorization began: a callback for
    /// a credential edited since is refused.
    pub saved: OAuthCode,
    pub verifier: PkceVerifier,
}

impl crate::platform::oauth::state_store::Claimable for Pending {
    /// A replayed authorization response changes nothing and names no one.
    type Trace = ();

    fn trace(&self) {}
}

/// Why a callback's `state` was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateRejection {
    Missing,
    Unknown,
    Used,
    Expired,
}

impl StateRejection {
    fn explain(self) -> &'static str {
        match self {
            StateRejection::Missing => "The authorization response carries no state.",
            StateRejection::Unknown => {
                "The state of this authorization response is unknown: it was not issued by this platform, or too long ago."
            }
            StateRejection::Used => {
                "This authorization response was already used: each authorization can complete once."
            }
            StateRejection::Expired => "This authorization took too long and has expired.",
        }
    }
}

/// Claim `state` in one step under the lock: of two concurrent callbacks
/// with the same `state`, exactly one gets it.
fn claim(state: &PlatformState, value: &str, now: Instant) -> Result<Pending, StateRejection> {
    // The callback path names no organisation: any account's state.
    state
        .oauth_tokens
        .pending()
        .claim(value, None, now)
        .map_err(|(refused, _)| match refused {
            Refused::Unknown | Refused::WrongAccount => StateRejection::Unknown,
            Refused::Reused => StateRejection::Used,
            Refused::Expired => StateRejection::Expired,
        })
}

/// `GET /api/orgs/{org}/credentials/{name}/authorize`: send the browser to
/// the brand's authorization endpoint. Also how a credential is
/// reauthorized: a new token replaces the old one when the callback
/// completes.
#[instrument(skip_all, fields(org = %org, credential = %name))]
pub async fn authorize(
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
        Kind::OAuth2AuthorizationCode(c) => start(&state, &org.id, &name, c),
        other => oauth_tokens::not_authorizable(&org.id, &name, &other),
    }
}

/// Send the browser to the brand's authorization endpoint for credential
/// `name` of `org` (saved as `c`): a fresh `state` and PKCE S256, kept
/// until the callback. The console's Authorize goes here too.
pub fn start(state: &PlatformState, org: &OrgId, name: &str, c: OAuthCode) -> Response {
    let now = state.clock.now();
    let state_value = random_token(32);
    let verifier = PkceCodeVerifier::new(random_token(32));
    let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
    let mut url = c.auth_url.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", c.client_id.as_str())
            .append_pair("redirect_uri", &c.redirect_uri);
        if let Some(scope) = &c.scope {
            q.append_pair("scope", scope);
        }
        q.append_pair("state", &state_value)
            .append_pair("code_challenge", challenge.as_str())
            .append_pair("code_challenge_method", "S256");
    }
    state.oauth_tokens.pending().insert(
        state_value,
        org.clone(),
        Pending {
            org: org.clone(),
            credential: name.to_string(),
            saved: c,
            verifier: PkceVerifier::new(verifier.secret().clone()),
        },
        now + crate::clock::secs(state.options.state_ttl_secs),
        now,
    );
    tracing::info!("authorization started");
    let Ok(location) = HeaderValue::from_str(url.as_str()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the auth URL does not fit in a Location header",
        );
    };
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}

/// The callback's parameters; each at most once.
#[derive(Default)]
struct Params {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn parse(query: Option<&str>) -> Result<Params, String> {
    let mut p = Params::default();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let slot = match k.as_ref() {
            "code" => &mut p.code,
            "state" => &mut p.state,
            "error" => &mut p.error,
            "error_description" => &mut p.error_description,
            _ => continue,
        };
        if slot.is_some() {
            return Err(format!("The parameter {k} appears more than once."));
        }
        *slot = Some(v.into_owned());
    }
    Ok(p)
}

/// Printable, bounded text from the other side.
fn printable(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| (' '..='~').contains(c))
        .take(max)
        .collect()
}

fn refused(reason: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "This authorization cannot complete",
        &format!("{reason} Nothing was changed. Start again with Authorize on the credential."),
    )
}

/// `GET /oauth2/callback`: the authorization response (RFC 6749 4.1.2).
///
/// In order: parse (a repeated parameter is refused); claim the `state`
/// (missing, unknown, used, expired: a clear page, nothing changed);
/// refuse if the credential was deleted or edited since; report an
/// authorization error (`access_denied`, ...); exchange the code; keep
/// the token, replacing any earlier one. The `state` is spent before the
/// exchange, so the same response delivered twice exchanges once.
#[instrument(skip_all)]
pub async fn callback(State(state): State<PlatformState>, RawQuery(query): RawQuery) -> Response {
    let params = match parse(query.as_deref()) {
        Ok(p) => p,
        Err(e) => return refused(&e),
    };
    let Some(state_value) = params.state.as_deref().filter(|s| !s.is_empty()) else {
        return refused(StateRejection::Missing.explain());
    };
    let now = state.clock.now();
    let pending = match claim(&state, state_value, now) {
        Ok(p) => p,
        Err(reason) => {
            tracing::info!(?reason, "authorization response refused");
            return refused(reason.explain());
        }
    };
    let name = &pending.credential;
    let current = state.vault.get(&pending.org, name);
    match current.map(|c| c.kind) {
        Some(Kind::OAuth2AuthorizationCode(c)) if c == pending.saved => {}
        Some(_) => {
            return refused(&format!(
                "Credential {name} was changed while it was being authorised."
            ));
        }
        None => {
            return refused(&format!(
                "Credential {name} was deleted while it was being authorised."
            ));
        }
    }
    // The console lists the organisation's credentials there.
    let console = format!(
        "/console/orgs/{}",
        crate::platform::integrations::template::encode_component(pending.org.as_str())
    );
    let back = Some(("Back to the organisation's credentials", console.as_str()));
    let not_authorised = |status: StatusCode, why: String| {
        page_with_link(
            status,
            &format!("Credential {name} is not authorised"),
            &format!(
                "{why} The credential keeps its previous token, if it had one; try Authorize again."
            ),
            back,
        )
    };
    if let Some(e) = params.error {
        let e = printable(&e, 64);
        tracing::info!(error = %e, "authorization refused at the brand");
        let why = match e.as_str() {
            "access_denied" => {
                "The brand's authorization server answered access_denied: access was not allowed at the brand's consent page.".to_string()
            }
            _ => {
                let detail = params
                    .error_description
                    .as_deref()
                    .map(|d| format!(" ({})", printable(d, 200)))
                    .unwrap_or_default();
                format!("The brand's authorization server answered {e}{detail}.")
            }
        };
        return not_authorised(StatusCode::OK, why);
    }
    let Some(code) = params.code.filter(|c| !c.is_empty()) else {
        return refused("The authorization response carries no code.");
    };
    let exchanged = state
        .oauth_tokens
        .exchange_code(
            &pending.saved.client(),
            &code,
            &pending.verifier,
            &pending.saved.redirect_uri,
            pending.saved.scope.as_deref(),
            now,
        )
        .await;
    drop(code);
    let token = match exchanged {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "code exchange failed");
            return not_authorised(
                StatusCode::BAD_GATEWAY,
                format!("The code exchange at the token endpoint failed: {e}."),
            );
        }
    };
    // In the credential's flight: a refresh under way finishes first and
    // this token, the newer grant, is what stays.
    let _flight = state.oauth_tokens.flight(&pending.org, name).await;
    if let Err(e) = state.vault.put_token(&pending.org, name, &token) {
        tracing::warn!(error = ?e, "token not kept");
        return refused(&format!(
            "Credential {name} could not keep its token (it was deleted, or the vault could not be written)."
        ));
    }
    tracing::info!(org = %pending.org, credential = %name, refresh_token = token.refresh_token.is_some(), "credential authorised");
    let refresh = if token.refresh_token.is_some() {
        "It is refreshed automatically when it expires."
    } else {
        "The brand issued no refresh token: authorize again when it expires."
    };
    page_with_link(
        StatusCode::OK,
        &format!("Credential {name} is authorised"),
        &format!(
            "Authorization passed: the token is kept by the platform and bots can use it now. {refresh}"
        ),
        back,
    )
}

fn not_authorized(name: &str, org: &OrgId) -> String {
    format!(
        "credential {name:?} has not been authorised yet; an admin must authorize it (Authorize on the credential, GET /api/orgs/{org}/credentials/{name}/authorize)"
    )
}

/// The authorisation for an integration call with credential `name` of
/// `org`: the kept token, refreshed first if it is about to expire; or
/// why there is none (a sentence for the conversation).
#[instrument(skip_all, fields(org = %org, credential = %name))]
pub async fn authorization(
    state: &PlatformState,
    org: &OrgId,
    name: &str,
    credential: &OAuthCode,
) -> Result<Auth, String> {
    match state.vault.token(org, name) {
        None => return Err(not_authorized(name, org)),
        Some(t) if oauth_tokens::fresh(&t, state.clock.now()) => {
            return Ok(Auth::bearer(&t.access_token));
        }
        Some(_) => {}
    }
    let _flight = state.oauth_tokens.flight(org, name).await;
    // Whoever held the flight before may have refreshed it.
    let now = state.clock.now();
    let Some(old) = state.vault.token(org, name) else {
        return Err(not_authorized(name, org));
    };
    if oauth_tokens::fresh(&old, now) {
        return Ok(Auth::bearer(&old.access_token));
    }
    let Some(refresh_token) = old.refresh_token.clone() else {
        return Err(format!(
            "the access token of credential {name:?} has expired and the brand issued no refresh token; reauthorize credential {name}"
        ));
    };
    let refreshed = state
        .oauth_tokens
        .refresh(
            &credential.client(),
            &refresh_token,
            old.scope.as_deref(),
            now,
        )
        .await;
    match refreshed {
        Ok(mut token) => {
            // RFC 6749 6: without a new refresh token, the old one stays.
            if token.refresh_token.is_none() {
                token.refresh_token = Some(refresh_token);
            }
            if let Err(e) = state.vault.put_token(org, name, &token) {
                tracing::warn!(error = ?e, "refreshed token not kept");
                return Err(format!(
                    "credential {name:?} could not keep its refreshed token"
                ));
            }
            tracing::info!(
                rotated = token.refresh_token != old.refresh_token,
                "access token refreshed"
            );
            Ok(Auth::bearer(&token.access_token))
        }
        Err(e @ TokenError::Refused { .. }) => {
            tracing::warn!(error = %e, "refresh refused");
            if e.code() == Some("invalid_grant") {
                // The grant is gone: keep no refresh token that cannot work.
                let dead = StoredToken {
                    refresh_token: None,
                    ..old
                };
                let _ = state.vault.put_token(org, name, &dead);
            }
            Err(format!(
                "the token endpoint refused to refresh the token of credential {name:?} ({}); reauthorize credential {name}",
                e.code().unwrap_or("refused")
            ))
        }
        Err(e) => {
            tracing::warn!(error = %e, "refresh failed");
            Err(format!(
                "the token of credential {name:?} could not be refreshed: {e}; try again in a moment"
            ))
        }
    }
}

/// The API answered 401 to this credential's token: treat it as expired,
/// so the next call refreshes it (or asks for reauthorization).
pub fn unauthorized(state: &PlatformState, org: &OrgId, name: &str) {
    if let Some(token) = state.vault.token(org, name) {
        let now = state.clock.now();
        let expired = StoredToken {
            expires_at: Some(now.min(token.expires_at.unwrap_or(now))),
            obtained_at: token.obtained_at.min(now),
            ..token
        };
        if let Err(e) = state.vault.put_token(org, name, &expired) {
            tracing::warn!(error = ?e, "could not mark the token expired");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLATFORM: &str = "http://127.0.0.1:8402";

    fn input(auth_url: &str, token_url: &str) -> Input {
        Input {
            client_id: "crm-client".into(),
            client_secret: Some(Secret::new("crm-secret")),
            scope: Some("openid  orders:read".into()),
            auth_url: auth_url.into(),
            token_url: token_url.into(),
        }
    }

    fn check(input: Input) -> Result<OAuthCode, Vec<(&'static str, &'static str)>> {
        let org = super::super::basic_authentication::tests::ctx_org();
        let ctx = SaveContext {
            org: &org,
            platform_url: PLATFORM,
            now: crate::clock::Instant::UNIX_EPOCH,
        };
        from_input(input, &ctx).map_err(|e| e.into_iter().map(|e| (e.field, e.code)).collect())
    }

    #[test]
    fn a_valid_credential_gets_the_platforms_redirect_uri() {
        let c = check(input(
            "https://login.example/authorize?prompt=consent",
            "https://login.example/token",
        ))
        .unwrap();
        assert_eq!(c.redirect_uri, "http://127.0.0.1:8402/oauth2/callback");
        assert_eq!(c.scope.as_deref(), Some("openid orders:read"));
        let view = serde_json::to_string(&c).unwrap();
        assert!(!view.contains("crm-secret"), "{view}");
        assert!(!format!("{c:?}").contains("crm-secret"));
    }

    #[test]
    fn each_fault_has_its_own_error() {
        assert_eq!(
            check(Input::default()).unwrap_err(),
            vec![
                ("client_id", "missing"),
                ("client_secret", "missing"),
                ("auth_url", "missing"),
                ("token_url", "missing")
            ]
        );
        assert_eq!(
            check(input(
                "login.example/authorize",
                "http://login.example/token"
            ))
            .unwrap_err(),
            vec![
                ("auth_url", "not_absolute"),
                ("token_url", "insecure_scheme")
            ]
        );
        assert_eq!(
            check(input(
                "https://login.example/authorize?state=x&scope=y#f",
                "https://login.example/token#f"
            ))
            .unwrap_err(),
            vec![("auth_url", "fragment"), ("token_url", "fragment")]
        );
        assert_eq!(
            check(input(
                "https://login.example/authorize?state=x&scope=y&scope=z",
                "https://login.example/token"
            ))
            .unwrap_err(),
            vec![
                ("auth_url", "reserved_parameter"),
                ("auth_url", "reserved_parameter")
            ]
        );
        let mut bad = input("https://a.example/authorize", "https://a.example/token");
        bad.client_id = "a\nb".into();
        bad.client_secret = Some(Secret::new("s\u{7}"));
        bad.scope = Some("a\\b".into());
        assert_eq!(
            check(bad).unwrap_err(),
            vec![
                ("client_id", "invalid"),
                ("client_secret", "invalid"),
                ("scope", "invalid")
            ]
        );
    }

    #[test]
    fn callback_parameters_appear_once() {
        assert!(parse(Some("code=a&state=b&state=c")).is_err());
        let p = parse(Some("state=s&error=access_denied&other=1&other=2")).unwrap();
        assert_eq!(p.error.as_deref(), Some("access_denied"));
        assert!(p.code.is_none());
    }
}
