//! Who is calling: bearer JWT access tokens (RFC 6750, RFC 9068) checked
//! against the IdP's JWKS, turned into a [`Consumer`], and the scope each
//! route needs.
//!
//! The checks, in order, each refusal a 401 `invalid_token` naming what
//! failed:
//! 1. one `Authorization: Bearer <b64token>` header (RFC 6750 2.1). The
//!    form-body and query-string methods (2.2, 2.3) are not offered. A
//!    request without a token also gets `error="invalid_token"` (RFC 6750
//!    3.1 would send a bare challenge): clients here key their re-challenge
//!    on `invalid_token`, and a missing token means the same to them.
//! 2. a JWT: three base64url parts. Opaque tokens are refused, unless the
//!    API has a client at the IdP for introspection
//!    ([`super::introspection`], RFC 7662): then they are checked there,
//!    and steps 3 to 6 do not apply.
//! 3. the header: `alg: none` refused; `typ` absent, `at+jwt` or `JWT`;
//!    a `kid` that the IdP's JWKS holds (refetched once if unknown); `alg`
//!    equal to that key's own algorithm, so HMAC signed with the public key
//!    cannot pass.
//! 4. the signature, with that key and algorithm only.
//! 5. the claims: `iss` equal to the configured issuer, `aud` containing the
//!    configured audience, `exp` (required) and `nbf` on the shared clock
//!    with no leeway (the parties share one clock), `sub` and `client_id`
//!    present (RFC 9068 2.2).
//!
//! 6. a token bound to a TLS client certificate (`cnf` with `x5t#S256`,
//!    RFC 8705 3) is accepted only over mutual TLS with that very
//!    certificate: its thumbprint must equal the claim. Presented over
//!    plain HTTP, or with another certificate, it is refused. Other
//!    confirmation methods (DPoP's `jkt`) are not supported and refused.
//!
//! Then the route's scope: 403 `insufficient_scope` naming it (RFC 6750 3.1).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Validation;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::ErrorCode;
use super::jwks::{JwksCache, JwksError};
use super::state::BrandApiState;
use crate::clock::Instant;
use crate::tls::PeerCertificates;
use crate::wire::ClientId;
use crate::wire::sanitize_description;

/// The realm of every challenge.
pub const REALM: &str = "brand-api";

/// A caller whose token passed every check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumer {
    /// The consumer (for a client credentials token, the client itself).
    pub sub: String,
    /// The client the token was issued to.
    pub client_id: ClientId,
    /// Space-separated scope (RFC 6749 3.3).
    pub scope: String,
}

impl Consumer {
    pub fn has_scope(&self, wanted: &str) -> bool {
        self.scope.split(' ').any(|s| s == wanted)
    }
}

/// Who a request's token names, once its signature verified (even when it
/// was refused later, e.g. expired): put in the response's extensions for
/// the request log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller {
    pub sub: Option<String>,
    pub client_id: Option<ClientId>,
}

/// A refused token or scope (RFC 6750 3.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// 401: missing, malformed, unverifiable, expired, or for someone else.
    #[error("invalid_token: {0}")]
    InvalidToken(String),
    /// 403: a good token without the scope this route needs.
    #[error("insufficient_scope: {description}")]
    InsufficientScope {
        scope: &'static str,
        description: String,
    },
    /// 503: the IdP's keys cannot be fetched, so no token can be checked.
    /// Not a verdict on the token: the client should keep it and retry.
    #[error("temporarily_unavailable: {0}")]
    Unavailable(String),
}

impl AuthError {
    fn invalid(d: impl Into<String>) -> Self {
        AuthError::InvalidToken(d.into())
    }

    pub fn code(&self) -> &'static str {
        match self {
            AuthError::InvalidToken(_) => "invalid_token",
            AuthError::InsufficientScope { .. } => "insufficient_scope",
            AuthError::Unavailable(_) => "temporarily_unavailable",
        }
    }

    pub fn description(&self) -> &str {
        match self {
            AuthError::InvalidToken(d) | AuthError::Unavailable(d) => d,
            AuthError::InsufficientScope { description, .. } => description,
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let description = sanitize_description(self.description());
        let code = self.code();
        let (status, challenge) = match &self {
            AuthError::InvalidToken(_) => (
                StatusCode::UNAUTHORIZED,
                Some(format!(
                    "Bearer realm=\"{REALM}\", error=\"{code}\", error_description=\"{description}\""
                )),
            ),
            AuthError::InsufficientScope { scope, .. } => (
                StatusCode::FORBIDDEN,
                Some(format!(
                    "Bearer realm=\"{REALM}\", error=\"{code}\", error_description=\"{description}\", scope=\"{scope}\""
                )),
            ),
            AuthError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, None),
        };
        let mut body = json!({ "error": code, "error_description": description });
        if let AuthError::InsufficientScope { scope, .. } = &self {
            body["scope"] = json!(scope);
        }
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
            .extensions_mut()
            .insert(ErrorCode(code.to_string()));
        response
    }
}

/// The token of the one `Authorization: Bearer` header (RFC 6750 2.1:
/// `Bearer 1*SP b64token`, scheme case-insensitive). Never panics.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next().ok_or_else(|| {
        AuthError::invalid("no access token: send it as Authorization: Bearer <token>")
    })?;
    if values.next().is_some() {
        return Err(AuthError::invalid("more than one Authorization header"));
    }
    let value = value
        .to_str()
        .map_err(|_| AuthError::invalid("the Authorization header is not visible ASCII"))?;
    parse_bearer(value)
}

/// The scheme and credentials of the one `Authorization` header, if there
/// is one (`Token abc` gives `("Token", "abc")`; the credentials may be
/// empty). Two headers, or one that is not visible ASCII, is an error.
pub fn authorization(headers: &HeaderMap) -> Result<Option<(&str, &str)>, String> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("more than one Authorization header".into());
    }
    let value = value
        .to_str()
        .map_err(|_| "the Authorization header is not visible ASCII".to_string())?;
    let value = value.trim_matches([' ', '\t']);
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    Ok(Some((scheme, credentials.trim_matches([' ', '\t']))))
}

/// The token in an `Authorization` header value.
pub fn parse_bearer(value: &str) -> Result<&str, AuthError> {
    let not_bearer = || AuthError::invalid("the Authorization header is not a Bearer token");
    let (scheme, rest) = value.split_once(' ').ok_or_else(not_bearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(not_bearer());
    }
    let token = rest.trim_start_matches(' ').trim_end_matches([' ', '\t']);
    if token.is_empty() {
        return Err(AuthError::invalid("the Bearer token is empty"));
    }
    if !is_b64token(token) {
        return Err(AuthError::invalid(
            "the Bearer token has characters outside RFC 6750 b64token",
        ));
    }
    Ok(token)
}

/// RFC 6750 2.1: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// The claims this API reads; others are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct AccessClaims {
    #[serde(default)]
    pub iss: Option<String>,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub aud: Option<Audience>,
    /// NumericDate: seconds, possibly fractional (RFC 7519 2).
    #[serde(default)]
    pub exp: Option<f64>,
    #[serde(default)]
    pub nbf: Option<f64>,
    #[serde(default)]
    pub client_id: Option<ClientId>,
    #[serde(default)]
    pub scope: Option<String>,
    /// Confirmation (RFC 7800, RFC 8705 3.1).
    #[serde(default)]
    pub cnf: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `aud`: one string or an array of them (RFC 7519 4.1.3).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, wanted: &str) -> bool {
        match self {
            Audience::One(a) => a == wanted,
            Audience::Many(all) => all.iter().any(|a| a == wanted),
        }
    }
}

/// The claim checks (step 5), apart from HTTP and keys.
pub fn check_claims(
    claims: &AccessClaims,
    now: Instant,
    issuer: &str,
    audience: &str,
) -> Result<Consumer, AuthError> {
    match claims.iss.as_deref() {
        Some(iss) if iss == issuer => {}
        Some(_) => return Err(AuthError::invalid("the token was issued by another issuer")),
        None => return Err(AuthError::invalid("the token has no iss")),
    }
    if !claims.aud.as_ref().is_some_and(|a| a.contains(audience)) {
        return Err(AuthError::InvalidToken(format!(
            "the token is not meant for this API (aud does not contain {audience})"
        )));
    }
    let now_f = now.unix_secs() as f64;
    match claims.exp {
        None => return Err(AuthError::invalid("the token has no exp")),
        Some(exp) if now_f >= exp => {
            return Err(AuthError::invalid("the access token has expired"));
        }
        Some(_) => {}
    }
    if claims.nbf.is_some_and(|nbf| now_f < nbf) {
        return Err(AuthError::invalid(
            "the access token is not valid yet (nbf)",
        ));
    }
    let sub = claims
        .sub
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AuthError::invalid("the token has no sub"))?;
    let client_id = claims
        .client_id
        .clone()
        .filter(|c| !c.as_str().is_empty())
        .ok_or_else(|| AuthError::invalid("the token has no client_id (RFC 9068 2.2)"))?;
    Ok(Consumer {
        sub,
        client_id,
        scope: claims.scope.clone().unwrap_or_default(),
    })
}

/// The certificate binding check (step 6): a token with `cnf` is accepted
/// only with the certificate whose `x5t#S256` it names (RFC 8705 3).
pub fn check_binding(
    cnf: Option<&serde_json::Map<String, serde_json::Value>>,
    peer: Option<&PeerCertificates>,
) -> Result<(), AuthError> {
    let Some(cnf) = cnf else {
        return Ok(());
    };
    let Some(bound) = cnf.get("x5t#S256") else {
        return Err(AuthError::invalid(
            "the access token is bound by a confirmation method this API does not support",
        ));
    };
    let bound = bound
        .as_str()
        .ok_or_else(|| AuthError::invalid("the token's cnf x5t#S256 is not a string"))?;
    match peer.and_then(PeerCertificates::thumbprint) {
        None => Err(AuthError::invalid(
            "the access token is bound to a TLS client certificate (RFC 8705): present it over mutual TLS",
        )),
        Some(presented) if presented == bound => Ok(()),
        Some(_) => Err(AuthError::invalid(
            "the access token is bound to another client certificate than the one presented",
        )),
    }
}

/// A refusal, with who the token named when its signature verified.
#[derive(Debug)]
pub struct Refusal {
    pub error: AuthError,
    pub caller: Caller,
}

impl From<AuthError> for Refusal {
    fn from(error: AuthError) -> Self {
        Refusal {
            error,
            caller: Caller::default(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = self.error.into_response();
        response.extensions_mut().insert(self.caller);
        response
    }
}

#[derive(Deserialize)]
struct RawHeader {
    #[serde(default)]
    alg: Option<serde_json::Value>,
}

/// Steps 1 to 6 for the token of `headers`, on a connection whose client
/// presented `peer` (`None` over plain HTTP).
pub async fn authenticate(
    state: &BrandApiState,
    headers: &HeaderMap,
    peer: Option<&PeerCertificates>,
) -> Result<Consumer, Refusal> {
    let token = bearer_token(headers)?;
    verify(state, token, peer).await
}

/// Steps 2 to 6 for `token`.
#[tracing::instrument(skip_all)]
pub async fn verify(
    state: &BrandApiState,
    token: &str,
    peer: Option<&PeerCertificates>,
) -> Result<Consumer, Refusal> {
    let trust = state.trust();
    if let Some(introspector) = trust.introspector().filter(|_| !looks_like_jwt(token)) {
        let consumer = introspector
            .check(token, trust.now(), trust.audience())
            .await?;
        return Ok(consumer);
    }
    let claims = verify_signature(trust.jwks(), token).await?;
    let claims: AccessClaims = serde_json::from_value(claims)
        .map_err(|_| AuthError::invalid("the token's claims are malformed"))?;
    let caller = Caller {
        sub: claims.sub.clone(),
        client_id: claims.client_id.clone(),
    };
    trust
        .check(&claims)
        .and_then(|consumer| check_binding(claims.cnf.as_ref(), peer).map(|()| consumer))
        .map_err(|error| Refusal { error, caller })
}

/// Three dot-separated parts: a JWS compact serialisation.
fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// Steps 2 to 4 for `token`, keys from `jwks`: its claims once its
/// signature verified, unchecked. Also what the mock NLU service
/// ([`crate::nlu`]) verifies the IdP's tokens with.
pub async fn verify_signature(
    jwks: &JwksCache,
    token: &str,
) -> Result<serde_json::Value, AuthError> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(AuthError::invalid(
            "the access token is not a JWT: this API accepts JWT access tokens (RFC 9068) only, not opaque ones",
        ));
    }
    let raw: RawHeader = URL_SAFE_NO_PAD
        .decode(parts[0])
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| AuthError::invalid("the token's header is not base64url JSON"))?;
    if raw
        .alg
        .as_ref()
        .and_then(|a| a.as_str())
        .is_some_and(|a| a.eq_ignore_ascii_case("none"))
    {
        return Err(AuthError::invalid("unsigned tokens (alg none) are refused"));
    }
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| AuthError::invalid("the token's header is malformed or its alg unknown"))?;
    if let Some(typ) = &header.typ {
        let typ = typ.to_ascii_lowercase();
        if !matches!(typ.as_str(), "at+jwt" | "application/at+jwt" | "jwt") {
            return Err(AuthError::invalid("the token's typ is not at+jwt or JWT"));
        }
    }
    let kid = header
        .kid
        .ok_or_else(|| AuthError::invalid("the token has no kid"))?;
    let key = jwks.key(&kid).await.map_err(|e| match e {
        JwksError::UnknownKid => AuthError::InvalidToken(e.to_string()),
        JwksError::Unavailable(_) => {
            tracing::warn!(error = %e, "cannot fetch the IdP's keys");
            AuthError::Unavailable("the IdP's signing keys cannot be fetched; retry later".into())
        }
    })?;
    if header.alg != key.alg {
        return Err(AuthError::invalid(
            "the token's alg is not its key's algorithm",
        ));
    }
    let mut validation = Validation::new(key.alg);
    // Time and audience are the caller's to check, on the shared clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<serde_json::Value>(token, &key.key, &validation)
        .map(|data| data.claims)
        .map_err(|_| AuthError::invalid("the token's signature does not verify"))
}

/// Middleware: the request needs a valid token with `scope`. On success the
/// [`Consumer`] is in the request's extensions; either way the
/// [`Caller`] is in the response's.
pub async fn require(
    State((state, scope)): State<(BrandApiState, &'static str)>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request.extensions().get::<PeerCertificates>();
    let consumer = match authenticate(&state, request.headers(), peer).await {
        Ok(c) => c,
        Err(refusal) => return refusal.into_response(),
    };
    let caller = Caller {
        sub: Some(consumer.sub.clone()),
        client_id: Some(consumer.client_id.clone()),
    };
    let mut response = if consumer.has_scope(scope) {
        request.extensions_mut().insert(consumer);
        next.run(request).await
    } else {
        AuthError::InsufficientScope {
            scope,
            description: format!("this call needs the scope {scope}"),
        }
        .into_response()
    };
    response.extensions_mut().insert(caller);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> crate::clock::Instant {
        crate::clock::Instant::from_unix_secs(secs)
    }

    fn claims() -> AccessClaims {
        AccessClaims {
            iss: Some("http://idp".into()),
            sub: Some("alice".into()),
            aud: Some(Audience::Many(vec!["other".into(), "brand-api".into()])),
            exp: Some(200.0),
            nbf: Some(100.0),
            client_id: Some("bot".into()),
            scope: Some("openid orders:read".into()),
            cnf: None,
        }
    }

    #[test]
    fn a_bound_token_needs_the_certificate_it_names() {
        let peer = PeerCertificates(vec![b"cert-a".to_vec().into()]);
        let bound = |x5t: &str| {
            serde_json::json!({ "x5t#S256": x5t })
                .as_object()
                .cloned()
                .unwrap()
        };
        let a = crate::tls::x5t_s256(b"cert-a");
        assert!(check_binding(None, None).is_ok());
        assert!(check_binding(Some(&bound(&a)), Some(&peer)).is_ok());
        assert!(check_binding(Some(&bound(&a)), None).is_err());
        assert!(check_binding(Some(&bound(&a)), Some(&PeerCertificates::default())).is_err());
        let b = crate::tls::x5t_s256(b"cert-b");
        assert!(check_binding(Some(&bound(&b)), Some(&peer)).is_err());
        let jkt = serde_json::json!({ "jkt": "x" })
            .as_object()
            .cloned()
            .unwrap();
        assert!(check_binding(Some(&jkt), Some(&peer)).is_err());
    }

    #[test]
    fn authorization_splits_scheme_and_credentials() {
        let mut h = HeaderMap::new();
        assert_eq!(authorization(&h), Ok(None));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Token  abc "),
        );
        assert_eq!(authorization(&h), Ok(Some(("Token", "abc"))));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic"));
        assert_eq!(authorization(&h), Ok(Some(("Basic", ""))));
        h.append(header::AUTHORIZATION, HeaderValue::from_static("Basic x"));
        assert!(authorization(&h).is_err());
    }

    #[test]
    fn good_claims_make_a_consumer() {
        let c = check_claims(&claims(), at(150), "http://idp", "brand-api").unwrap();
        assert_eq!(c.sub, "alice");
        assert!(c.has_scope("orders:read"));
        assert!(!c.has_scope("orders"));
    }

    #[test]
    fn time_is_checked_without_leeway() {
        assert!(check_claims(&claims(), at(200), "http://idp", "brand-api").is_err());
        assert!(check_claims(&claims(), at(99), "http://idp", "brand-api").is_err());
        assert!(check_claims(&claims(), at(100), "http://idp", "brand-api").is_ok());
        let mut no_exp = claims();
        no_exp.exp = None;
        assert!(check_claims(&no_exp, at(150), "http://idp", "brand-api").is_err());
    }

    #[test]
    fn issuer_and_audience_must_match() {
        assert!(check_claims(&claims(), at(150), "http://idp/", "brand-api").is_err());
        assert!(check_claims(&claims(), at(150), "http://idp", "orders-api").is_err());
        let mut one = claims();
        one.aud = Some(Audience::One("brand-api".into()));
        assert!(check_claims(&one, at(150), "http://idp", "brand-api").is_ok());
    }

    #[test]
    fn the_bearer_parser_takes_only_bearer_b64tokens() {
        assert_eq!(
            parse_bearer("Bearer abc.def-_~+/==").unwrap(),
            "abc.def-_~+/=="
        );
        assert_eq!(parse_bearer("bearer   abc").unwrap(), "abc");
        for bad in [
            "Bearer",
            "Bearer ",
            "Basic abc",
            "Bearerabc",
            "Bearer a b",
            "Bearer ===",
            "Bearer a=b",
        ] {
            assert!(parse_bearer(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn challenges_name_the_realm_error_and_scope() {
        let r = AuthError::InsufficientScope {
            scope: "orders:read",
            description: "needs orders:read".into(),
        }
        .into_response();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let challenge = r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(challenge.starts_with("Bearer realm=\"brand-api\", error=\"insufficient_scope\""));
        assert!(challenge.ends_with("scope=\"orders:read\""));
        let r = AuthError::InvalidToken("bad\r\n\"x\"".into()).into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(
            r.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains("error=\"invalid_token\", error_description=\"bad   x \"")
        );
    }
}
