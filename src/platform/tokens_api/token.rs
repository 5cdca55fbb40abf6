//! `POST /oauth/token`: the platform's token endpoint for brand services,
//! client credentials grant only (RFC 6749 4.4).
//!
//! A brand service authenticates with its client id and secret, either
//! `client_secret_basic` (RFC 6749 2.3.1: `Authorization: Basic` of the
//! form-encoded id and secret) or `client_secret_post` (both in the body),
//! never both at once. The body is `application/x-www-form-urlencoded`
//! with `grant_type=client_credentials` and optionally `scope` (a subset of
//! the service's scopes; all of them when absent, RFC 6749 3.3).
//!
//! The answer is `{"access_token","token_type":"Bearer","expires_in","scope"}`
//! with `Cache-Control: no-store` (RFC 6749 5.1). Errors follow RFC 6749
//! 5.2: 400 `invalid_request` (malformed body, repeated parameter, two
//! authentication methods), 401 `invalid_client` with
//! `WWW-Authenticate: Basic` (no, unknown or wrong credentials), 400
//! `unsupported_grant_type`, 400 `invalid_scope`. An unknown client and a
//! wrong secret get the same answer, after the same constant-time
//! comparison.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;
use tracing::instrument;

use super::{BrandServiceConfig, REALM, is_scope_token};
use crate::platform::PlatformState;
use crate::secret::Secret;
use crate::wire::ClientId;

/// A refused token request (RFC 6749 5.2); `Display` is the error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// 5.2: a missing or repeated parameter, a malformed request, more
    /// than one authentication method.
    #[error("invalid_request")]
    InvalidRequest(String),
    /// 5.2: client authentication failed (unknown client, wrong secret,
    /// none at all, unsupported method).
    #[error("invalid_client")]
    InvalidClient(String),
    /// 5.2: a grant type other than `client_credentials`.
    #[error("unsupported_grant_type")]
    UnsupportedGrantType(String),
    /// 5.2: a scope the service may not have, or a malformed one.
    #[error("invalid_scope")]
    InvalidScope(String),
}

impl TokenError {
    fn description(&self) -> &str {
        match self {
            TokenError::InvalidRequest(d)
            | TokenError::InvalidClient(d)
            | TokenError::UnsupportedGrantType(d)
            | TokenError::InvalidScope(d) => d,
        }
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let status = match self {
            TokenError::InvalidClient(_) => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        };
        let mut response = (
            status,
            Json(json!({ "error": self.to_string(), "error_description": self.description() })),
        )
            .into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            let challenge = format!("Basic realm=\"{REALM}\", charset=\"UTF-8\"");
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        no_store(headers);
        response
    }
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The request's parameters, each at most once (RFC 6749 3.2).
#[derive(Default)]
struct Params {
    grant_type: Option<String>,
    scope: Option<String>,
    client_id: Option<ClientId>,
    client_secret: Option<Secret>,
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Params, TokenError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(TokenError::InvalidRequest(
            "send the parameters as application/x-www-form-urlencoded (RFC 6749 4.4.2)".into(),
        ));
    }
    let mut p = Params::default();
    let mut seen = std::collections::HashSet::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        // Any parameter at most once, those read here or not.
        let duplicate = !seen.insert(k.clone());
        match k.as_ref() {
            "grant_type" => p.grant_type = Some(v.into_owned()),
            "scope" => p.scope = Some(v.into_owned()),
            "client_id" => p.client_id = Some(ClientId::new(v.into_owned())),
            "client_secret" => p.client_secret = Some(Secret::new(v)),
            _ => {}
        }
        if duplicate {
            return Err(TokenError::InvalidRequest(format!(
                "the parameter {k} appears more than once (RFC 6749 3.2)"
            )));
        }
    }
    Ok(p)
}

/// The id and secret of an `Authorization: Basic` header (RFC 6749
/// 2.3.1: each form-urlencoded before base64), if there is one.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(ClientId, Secret)>, TokenError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(TokenError::InvalidRequest(
            "more than one Authorization header".into(),
        ));
    }
    let bad = |why: &str| {
        TokenError::InvalidClient(format!(
            "{why}: send Authorization: Basic base64(form-encoded client_id \":\" form-encoded client_secret)"
        ))
    };
    let value = value
        .to_str()
        .map_err(|_| bad("the Authorization header is not ASCII"))?;
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad("only the Basic scheme authenticates a client here"));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| bad("the Basic credentials are not base64"))?;
    let decoded =
        String::from_utf8(decoded).map_err(|_| bad("the Basic credentials are not UTF-8"))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| bad("the Basic credentials have no ':'"))?;
    let unform = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((
        ClientId::new(unform(id)),
        Secret::new(unform(secret)),
    )))
}

/// Authenticate the client by exactly one method.
fn authenticate<'a>(
    state: &'a PlatformState,
    headers: &HeaderMap,
    params: &mut Params,
) -> Result<&'a BrandServiceConfig, TokenError> {
    let (id, secret) = match (basic_credentials(headers)?, params.client_secret.take()) {
        (Some(_), Some(_)) => {
            return Err(TokenError::InvalidRequest(
                "the client authenticated twice (Basic and client_secret in the body); use one method (RFC 6749 2.3)".into(),
            ));
        }
        (Some((id, secret)), None) => {
            if params
                .client_id
                .as_ref()
                .is_some_and(|body_id| *body_id != id)
            {
                return Err(TokenError::InvalidRequest(
                    "the body's client_id is not the one authenticated by the Basic header".into(),
                ));
            }
            (id, secret)
        }
        (None, Some(secret)) => match params.client_id.clone() {
            Some(id) => (id, secret),
            None => {
                return Err(TokenError::InvalidClient(
                    "client_secret without client_id".into(),
                ));
            }
        },
        (None, None) => {
            return Err(TokenError::InvalidClient(
                "client authentication is required: client_secret_basic or client_secret_post"
                    .into(),
            ));
        }
    };
    let service = state.brand_tokens.service(&id);
    // The same comparison for an unknown client, so timing tells nothing.
    let unknown = Secret::new("\u{0}no such client, compared for constant time\u{0}");
    let expected = service.map_or(&unknown, |s| &s.client_secret);
    let matched = expected.matches(secret.expose());
    match service {
        Some(s) if matched => Ok(s),
        _ => Err(TokenError::InvalidClient(
            "unknown client or wrong client secret".into(),
        )),
    }
}

/// The scope to grant: the requested subset of the service's scopes.
fn granted_scope(
    service: &BrandServiceConfig,
    requested: Option<&str>,
) -> Result<Vec<String>, TokenError> {
    let Some(requested) = requested.filter(|r| !r.is_empty()) else {
        return Ok(service.scopes.clone());
    };
    let mut scope: Vec<String> = Vec::new();
    for s in requested.split(' ').filter(|s| !s.is_empty()) {
        if !is_scope_token(s) {
            return Err(TokenError::InvalidScope(format!(
                "{s:?} is not a scope token (RFC 6749 3.3)"
            )));
        }
        if !service.scopes.iter().any(|allowed| allowed == s) {
            return Err(TokenError::InvalidScope(format!(
                "this client may not have the scope {s}"
            )));
        }
        if !scope.iter().any(|have| have == s) {
            scope.push(s.to_string());
        }
    }
    Ok(scope)
}

fn respond(
    state: &PlatformState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, TokenError> {
    let mut params = parse_body(headers, body)?;
    let service = authenticate(state, headers, &mut params)?;
    match params.grant_type.as_deref() {
        None | Some("") => {
            return Err(TokenError::InvalidRequest(
                "grant_type is required; this endpoint offers client_credentials".into(),
            ));
        }
        Some("client_credentials") => {}
        Some(other) => {
            return Err(TokenError::UnsupportedGrantType(format!(
                "{:?} is not offered; this endpoint offers client_credentials",
                other.chars().take(64).collect::<String>()
            )));
        }
    }
    let scope = granted_scope(service, params.scope.as_deref())?;
    let now = state.clock.now();
    let (token, expires_in) = state.brand_tokens.issue(service, scope.clone(), now);
    tracing::info!(client_id = %service.client_id, account = %service.account, "brand service token issued");
    let mut response = Json(json!({
        "access_token": token.expose(),
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": scope.join(" "),
    }))
    .into_response();
    no_store(response.headers_mut());
    Ok(response)
}

/// `POST /oauth/token`.
#[instrument(skip_all)]
pub async fn handler(
    State(state): State<PlatformState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match respond(&state, &headers, &body) {
        Ok(response) => response,
        Err(e) => {
            tracing::info!(error = %e, "brand service token request refused");
            e.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::org::OrgId;

    fn service() -> BrandServiceConfig {
        BrandServiceConfig {
            client_id: "svc".into(),
            client_secret: Secret::new("0123456789abcdef"),
            account: OrgId::parse("demo").unwrap(),
            scopes: vec!["a".into(), "b".into()],
            token_ttl_secs: 60,
        }
    }

    #[test]
    fn scopes_are_a_subset_of_the_services() {
        let s = service();
        assert_eq!(granted_scope(&s, None).unwrap(), vec!["a", "b"]);
        assert_eq!(granted_scope(&s, Some("")).unwrap(), vec!["a", "b"]);
        assert_eq!(granted_scope(&s, Some("b b")).unwrap(), vec!["b"]);
        assert!(matches!(
            granted_scope(&s, Some("a c")),
            Err(TokenError::InvalidScope(_))
        ));
        assert!(matches!(
            granted_scope(&s, Some("a\"")),
            Err(TokenError::InvalidScope(_))
        ));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("my%3Aid:p%40ss+word");
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {encoded}").parse().unwrap(),
        );
        let (id, secret) = basic_credentials(&headers).unwrap().unwrap();
        assert_eq!(id, "my:id");
        assert_eq!(secret.expose(), "p@ss word");
        headers.insert(header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert!(matches!(
            basic_credentials(&headers),
            Err(TokenError::InvalidClient(_))
        ));
        headers.insert(header::AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert!(matches!(
            basic_credentials(&headers),
            Err(TokenError::InvalidClient(_))
        ));
    }

    #[test]
    fn parameters_come_once_as_a_form() {
        let mut headers = HeaderMap::new();
        assert!(matches!(
            parse_body(&headers, b"grant_type=client_credentials"),
            Err(TokenError::InvalidRequest(_))
        ));
        headers.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=UTF-8"
                .parse()
                .unwrap(),
        );
        let p = parse_body(&headers, b"grant_type=client_credentials&scope=a+b").unwrap();
        assert_eq!(p.scope.as_deref(), Some("a b"));
        for twice in [
            &b"grant_type=a&grant_type=b"[..],
            b"grant_type=client_credentials&audience=x&audience=y",
        ] {
            assert!(matches!(
                parse_body(&headers, twice),
                Err(TokenError::InvalidRequest(_))
            ));
        }
    }
}
