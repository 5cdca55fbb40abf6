//! The token endpoint (RFC 6749 section 3.2): authorization code (with PKCE,
//! RFC 7636), client credentials and refresh token grants, and the grants
//! of service credentials, which need no client: RFC 7523's JWT bearer
//! assertion ([`super::jwt_bearer`]) and the IAM API key
//! ([`super::apikey`]).
//!
//! [`handler`] reads the body once, refuses a repeated parameter (RFC 6749
//! 3.2), and [`TokenRequest::from_params`] makes the one request enum of
//! every grant; the handler dispatches it: the service grants to their
//! modules, the client grants to [`exchange`] once the client is
//! authenticated.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Serialize;
use sha2::Digest as _;

use super::client_auth;
use super::error::TokenError;
use super::fixtures::{ClientConfig, GrantType};
use super::http::{Params, RawBody, Repeated, no_store_json, request_params};
use super::quirks::Quirk;
use super::records::{CodeRecord, CodeRefusal, FamilyId, RefreshRefusal, Rotation, TokenId};
use super::state::{Grant, IdpState, PkceMethod, Scope};
use super::tokens::{AccessGrant, IdTokenFor, mint_access, mint_id_token, mint_refresh};
use crate::clock::Instant;
use crate::secret::{ApiKey, Assertion, AuthorizationCode, PkceVerifier, RefreshToken};
use crate::tls::PeerCertificates;

/// A token request, by grant type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRequest {
    AuthorizationCode {
        code: AuthorizationCode,
        redirect_uri: Option<String>,
        code_verifier: Option<PkceVerifier>,
    },
    ClientCredentials {
        scope: Option<Scope>,
    },
    RefreshToken {
        refresh_token: RefreshToken,
        scope: Option<Scope>,
    },
    /// RFC 7523 2.1: a service account's signed assertion.
    JwtBearer {
        assertion: Assertion,
        scope: Option<String>,
    },
    /// An IAM API key.
    ApiKey {
        apikey: ApiKey,
    },
}

fn repeated(r: Repeated) -> TokenError {
    TokenError::invalid_request(format!("parameter `{}` is repeated (RFC 6749 3.2)", r.0))
}

impl TokenRequest {
    pub fn from_params(params: &Params) -> Result<Self, TokenError> {
        let get = |name: &str| params.get(name).map_err(repeated);
        let required = |name: &str| {
            get(name)?
                .map(String::from)
                .ok_or_else(|| TokenError::invalid_request(format!("missing parameter `{name}`")))
        };
        let scope = get("scope")?.map(Scope::parse);
        match get("grant_type")? {
            None => Err(TokenError::invalid_request(
                "missing parameter `grant_type`",
            )),
            Some("authorization_code") => Ok(TokenRequest::AuthorizationCode {
                code: AuthorizationCode::new(required("code")?),
                redirect_uri: get("redirect_uri")?.map(String::from),
                code_verifier: get("code_verifier")?.map(PkceVerifier::new),
            }),
            Some("client_credentials") => Ok(TokenRequest::ClientCredentials { scope }),
            Some("refresh_token") => Ok(TokenRequest::RefreshToken {
                refresh_token: RefreshToken::new(required("refresh_token")?),
                scope,
            }),
            Some(super::jwt_bearer::GRANT_TYPE) => Ok(TokenRequest::JwtBearer {
                assertion: get("assertion")?.map(Assertion::new).ok_or_else(|| {
                    TokenError::invalid_request("missing parameter `assertion` (RFC 7523 2.1)")
                })?,
                scope: get("scope")?.map(String::from),
            }),
            Some(super::apikey::GRANT_TYPE) => Ok(TokenRequest::ApiKey {
                apikey: ApiKey::new(required("apikey")?),
            }),
            Some(_) => Err(TokenError::UnsupportedGrantType(format!(
                "supported grant types: authorization_code, client_credentials, refresh_token, {}, {}",
                super::jwt_bearer::GRANT_TYPE,
                super::apikey::GRANT_TYPE
            ))),
        }
    }

    /// The grant a client must be allowed, for the grants of clients.
    fn grant_type(&self) -> Option<GrantType> {
        match self {
            TokenRequest::AuthorizationCode { .. } => Some(GrantType::AuthorizationCode),
            TokenRequest::ClientCredentials { .. } => Some(GrantType::ClientCredentials),
            TokenRequest::RefreshToken { .. } => Some(GrantType::RefreshToken),
            TokenRequest::JwtBearer { .. } | TokenRequest::ApiKey { .. } => None,
        }
    }
}

/// A successful token response (RFC 6749 5.1, OIDC Core 3.1.3.3).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// RFC 7636 4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`.
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// RFC 7636 4.6.
fn pkce_matches(method: PkceMethod, challenge: &str, verifier: &str) -> bool {
    let computed = match method {
        PkceMethod::Plain => verifier.to_string(),
        PkceMethod::S256 => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes())),
    };
    aws_lc_rs::constant_time::verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes())
        .is_ok()
}

/// Decide a token request for an authenticated client.
pub fn exchange(
    state: &IdpState,
    client: &ClientConfig,
    request: TokenRequest,
) -> Result<TokenResponse, TokenError> {
    let Some(grant) = request.grant_type() else {
        return Err(TokenError::invalid_request(
            "this grant is a service credential's, presented without client authentication",
        ));
    };
    if !client.allows_grant(grant) {
        return Err(TokenError::UnauthorizedClient(
            "this client is not registered for this grant type".into(),
        ));
    }
    match request {
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => authorization_code(
            state,
            client,
            code.expose(),
            redirect_uri.as_deref(),
            code_verifier.as_ref().map(PkceVerifier::expose),
        ),
        TokenRequest::ClientCredentials { scope } => client_credentials(state, client, scope),
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => refresh(state, client, refresh_token.expose(), scope),
        TokenRequest::JwtBearer { .. } | TokenRequest::ApiKey { .. } => Err(
            TokenError::invalid_request("a service credential's grant needs no client"),
        ),
    }
}

fn authorization_code(
    state: &IdpState,
    client: &ClientConfig,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<TokenResponse, TokenError> {
    let now = state.now();
    let id = TokenId::of(code);
    let (grant, user) = {
        let mut store = state.store();
        let grant = store
            .records
            .redeem_code(
                &id,
                client.id.as_str(),
                now,
                state.quirk(Quirk::CodeReusable),
                client.allows_grant(GrantType::RefreshToken),
                |record| code_request_matches(state, client, record, redirect_uri, verifier),
            )
            .map_err(|refusal| match refusal {
                CodeRefusal::Unknown => TokenError::invalid_grant("unknown authorization code"),
                CodeRefusal::OtherClient => {
                    TokenError::invalid_grant("the code was issued to another client")
                }
                CodeRefusal::Replayed => TokenError::invalid_grant(
                    "the code was already used; the tokens issued from it are now revoked",
                ),
                CodeRefusal::Expired => TokenError::invalid_grant("the code has expired"),
                CodeRefusal::Check(e) => e,
            })?;
        let user = store.user_by_sub(&grant.sub).cloned();
        (grant, user)
    };
    let user =
        user.ok_or_else(|| TokenError::invalid_grant("the user of this code no longer exists"))?;
    let scope = Scope::parse(&grant.scope);

    let (access_token, access) = mint_access(
        state,
        AccessGrant {
            client,
            sub: Some(&grant.sub),
            scope: &scope,
            grant: Grant::AuthorizationCode,
            family: grant.family,
            auth_time: Some(grant.auth_time),
        },
    );
    let refresh = grant
        .family
        .map(|f| mint_refresh(state, client, &grant.sub, &scope, f, grant.auth_time));
    let id_token = scope.contains("openid").then(|| {
        mint_id_token(
            state,
            IdTokenFor {
                client,
                user: &user,
                scope: &scope,
                nonce: grant.nonce.as_deref(),
                auth_time: grant.auth_time,
                access_token: &access_token,
            },
        )
    });

    let expires_in = access.expires_at.secs_since(access.issued_at);
    let (refresh_token, refresh) = match refresh {
        Some((value, draft)) => (Some(value), Some(draft)),
        None => (None, None),
    };
    state
        .store()
        .records
        .complete_code_exchange(&id, access, refresh, grant.family, now)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        scope: scope.to_string(),
        refresh_token,
        id_token,
    })
}

/// The token request's own checks of a code's record: the same
/// `redirect_uri` as the authorization request (RFC 6749 4.1.3), and the
/// PKCE verifier of its challenge (RFC 7636 4.6).
fn code_request_matches(
    state: &IdpState,
    client: &ClientConfig,
    record: &CodeRecord,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<(), TokenError> {
    match (&record.redirect_uri_param, redirect_uri) {
        (Some(expected), Some(given)) if expected != given => {
            return Err(TokenError::invalid_grant(
                "redirect_uri differs from the one in the authorization request",
            ));
        }
        (Some(_), None) => {
            return Err(TokenError::invalid_grant(
                "redirect_uri is required: the authorization request carried one",
            ));
        }
        (None, Some(given)) if !client.redirect_uris.iter().any(|r| r == given) => {
            return Err(TokenError::invalid_grant(
                "redirect_uri is not registered for this client",
            ));
        }
        _ => {}
    }
    match (&record.pkce, verifier) {
        _ if state.quirk(Quirk::PkceNotEnforced) => Ok(()),
        (Some(pkce), Some(v)) => {
            if valid_verifier(v) && pkce_matches(pkce.method, &pkce.challenge, v) {
                Ok(())
            } else {
                Err(TokenError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ))
            }
        }
        (Some(_), None) => Err(TokenError::invalid_grant(
            "code_verifier is required: the authorization request carried a code_challenge",
        )),
        (None, Some(_)) => Err(TokenError::invalid_grant(
            "code_verifier sent but the authorization request carried no code_challenge",
        )),
        (None, None) => Ok(()),
    }
}

fn client_credentials(
    state: &IdpState,
    client: &ClientConfig,
    scope: Option<Scope>,
) -> Result<TokenResponse, TokenError> {
    let allowed = Scope::from_words(&client.scopes);
    let scope = scope.unwrap_or_else(|| allowed.clone());
    let outside = scope.outside(&allowed);
    if !outside.is_empty() {
        return Err(TokenError::InvalidScope(format!(
            "not allowed for this client: {}",
            outside.join(" ")
        )));
    }
    let (access_token, record) = mint_access(
        state,
        AccessGrant {
            client,
            sub: None,
            scope: &scope,
            grant: Grant::ClientCredentials,
            family: None,
            auth_time: None,
        },
    );
    let expires_in = record.expires_at.secs_since(record.issued_at);
    state
        .store()
        .records
        .insert_tokens(record, None, state.now())?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        scope: scope.to_string(),
        refresh_token: None,
        id_token: None,
    })
}

/// What a refresh token grants, its scope parsed.
struct RefreshGrant {
    sub: String,
    scope: Scope,
    family: FamilyId,
    auth_time: Instant,
}

fn refresh(
    state: &IdpState,
    client: &ClientConfig,
    token: &str,
    scope: Option<Scope>,
) -> Result<TokenResponse, TokenError> {
    let now = state.now();
    let (grant, user) = {
        let mut store = state.store();
        let rotation = Rotation {
            rotate: client.refresh_rotation,
            reuse_revokes_family: client.refresh_reuse_revokes_family,
        };
        let grant = store
            .records
            .redeem_refresh(
                &TokenId::of(token),
                client.id.as_str(),
                now,
                rotation,
                |granted| {
                    // RFC 6749 6: the scope may narrow, never widen.
                    let outside = scope
                        .as_ref()
                        .map(|s| s.outside(&Scope::parse(granted)))
                        .unwrap_or_default();
                    if outside.is_empty() {
                        Ok(())
                    } else {
                        Err(TokenError::InvalidScope(format!(
                            "wider than the original grant: {}",
                            outside.join(" ")
                        )))
                    }
                },
            )
            .map_err(|refusal| match refusal {
                RefreshRefusal::Unknown => TokenError::invalid_grant("unknown refresh token"),
                RefreshRefusal::OtherClient => {
                    TokenError::invalid_grant("the refresh token was issued to another client")
                }
                RefreshRefusal::Revoked => {
                    TokenError::invalid_grant("the refresh token has been revoked")
                }
                RefreshRefusal::Reused {
                    family_revoked: true,
                } => TokenError::invalid_grant(
                    "the refresh token was already used; every token of its family is now revoked",
                ),
                RefreshRefusal::Reused {
                    family_revoked: false,
                } => TokenError::invalid_grant("the refresh token was already used"),
                RefreshRefusal::Expired => {
                    TokenError::invalid_grant("the refresh token has expired")
                }
                RefreshRefusal::Check(e) => e,
            })?;
        let user = store.user_by_sub(&grant.sub).cloned();
        (grant, user)
    };
    let grant = RefreshGrant {
        scope: Scope::parse(&grant.scope),
        sub: grant.sub,
        family: grant.family,
        auth_time: grant.auth_time,
    };
    let user =
        user.ok_or_else(|| TokenError::invalid_grant("the user of this grant no longer exists"))?;
    let scope = scope.unwrap_or_else(|| grant.scope.clone());
    let (access_token, access) = mint_access(
        state,
        AccessGrant {
            client,
            sub: Some(&grant.sub),
            scope: &scope,
            grant: Grant::RefreshToken,
            family: Some(grant.family),
            auth_time: Some(grant.auth_time),
        },
    );
    let successor = client.refresh_rotation.then(|| {
        mint_refresh(
            state,
            client,
            &grant.sub,
            &grant.scope,
            grant.family,
            grant.auth_time,
        )
    });
    let id_token = scope.contains("openid").then(|| {
        mint_id_token(
            state,
            IdTokenFor {
                client,
                user: &user,
                scope: &scope,
                nonce: None,
                auth_time: grant.auth_time,
                access_token: &access_token,
            },
        )
    });
    // Tokens of a family revoked while these were signed are born revoked:
    // the family's revocation covers every member, whenever recorded.
    let expires_in = access.expires_at.secs_since(access.issued_at);
    let (refresh_token, successor) = match successor {
        Some((value, draft)) => (Some(value), Some(draft)),
        None => (None, None),
    };
    state
        .store()
        .records
        .insert_tokens(access, successor, now)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        scope: scope.to_string(),
        refresh_token,
        id_token,
    })
}

/// `POST /token`.
pub async fn handler(
    State(state): State<IdpState>,
    peer: Option<axum::Extension<PeerCertificates>>,
    headers: HeaderMap,
    body: RawBody,
) -> Response {
    // The body, read once; every parameter at most once (RFC 6749 3.2).
    let params = match request_params(&headers, &body).map_err(TokenError::invalid_request) {
        Ok(params) => params,
        Err(error) => return refused(&state, error),
    };
    // Grants whose credential is not a client's (RFC 7523, IAM API keys):
    // no client authentication; what is wrong with them is theirs to say.
    let service = [super::jwt_bearer::GRANT_TYPE, super::apikey::GRANT_TYPE]
        .into_iter()
        .find(|g| params.get("grant_type") == Ok(Some(*g)));
    if let Some(grant_type) = service {
        return match TokenRequest::from_params(&params) {
            Ok(TokenRequest::JwtBearer { assertion, scope }) => super::service_token::answer(
                grant_type,
                super::jwt_bearer::exchange(&state, assertion.expose(), scope.as_deref()),
            ),
            Ok(TokenRequest::ApiKey { apikey }) => super::service_token::answer(
                grant_type,
                super::apikey::exchange(&state, apikey.expose()),
            ),
            Ok(_) => super::service_token::answer::<()>(
                grant_type,
                Err(TokenError::invalid_request("a malformed service grant")),
            ),
            Err(e) => super::service_token::answer::<()>(grant_type, Err(e)),
        };
    }
    if state.quirk(Quirk::SlowToken) {
        // A deliberately slow server (the quirk), not an expiry wait.
        tokio::time::sleep(super::quirks::SLOW_TOKEN).await;
    }
    match respond(&state, &headers, &params, peer.as_ref().map(|e| &e.0)) {
        Ok(response) => quirky(&state, response),
        Err(error) => refused(&state, error),
    }
}

/// A refusal, as the quirks in force shape it.
fn refused(state: &IdpState, error: TokenError) -> Response {
    tracing::debug!(error = error.code(), "token request refused");
    let mut response = error.into_response();
    if state.quirk(Quirk::ErrorWith200) {
        *response.status_mut() = StatusCode::OK;
        response
            .headers_mut()
            .remove(axum::http::header::WWW_AUTHENTICATE);
    }
    response
}

/// A successful token response, as the quirks in force shape it.
fn quirky(state: &IdpState, response: TokenResponse) -> Response {
    let mut body = serde_json::to_value(&response).unwrap_or_default();
    if state.quirk(Quirk::TokenTypeMissing) {
        body.as_object_mut().map(|o| o.remove("token_type"));
    }
    if state.quirk(Quirk::ExpiresInString) {
        body["expires_in"] = serde_json::Value::String(response.expires_in.to_string());
    }
    if state.quirk(Quirk::ScopeArray) {
        body["scope"] = response.scope.split_whitespace().collect::<Vec<_>>().into();
    }
    if state.quirk(Quirk::FormEncodedToken) {
        let pairs: Vec<(String, String)> = body
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                )
            })
            .collect();
        let text = serde_urlencoded::to_string(pairs).unwrap_or_default();
        let mut r = (StatusCode::OK, text).into_response();
        r.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        r.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
        return r;
    }
    if state.quirk(Quirk::NoCacheControl) {
        return (StatusCode::OK, axum::Json(body)).into_response();
    }
    no_store_json(StatusCode::OK, body)
}

/// A client grant: the client authenticated first (RFC 6749 3.2.1), then
/// the request.
fn respond(
    state: &IdpState,
    headers: &HeaderMap,
    params: &Params,
    peer: Option<&PeerCertificates>,
) -> Result<TokenResponse, TokenError> {
    let client = {
        let store = state.store();
        client_auth::authenticate_as(
            &store,
            headers,
            params,
            peer,
            state.quirk(Quirk::WrongSecretAccepted),
        )?
    };
    let request = TokenRequest::from_params(params)?;
    exchange(state, &client, request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_types_parse_or_are_refused_with_the_rfc_code() {
        let p = Params::parse(b"grant_type=password&username=a");
        assert_eq!(
            TokenRequest::from_params(&p).unwrap_err().code(),
            "unsupported_grant_type"
        );
        let p = Params::parse(b"code=x");
        assert_eq!(
            TokenRequest::from_params(&p).unwrap_err().code(),
            "invalid_request"
        );
        let p = Params::parse(b"grant_type=authorization_code");
        assert_eq!(
            TokenRequest::from_params(&p).unwrap_err().code(),
            "invalid_request"
        );
        let p = Params::parse(b"grant_type=client_credentials&grant_type=client_credentials");
        assert_eq!(
            TokenRequest::from_params(&p).unwrap_err().code(),
            "invalid_request"
        );
        let p = Params::parse(b"grant_type=refresh_token&refresh_token=r&scope=a+b");
        assert_eq!(
            TokenRequest::from_params(&p).unwrap(),
            TokenRequest::RefreshToken {
                refresh_token: RefreshToken::new("r"),
                scope: Some(Scope::parse("a b"))
            }
        );
    }

    #[test]
    fn pkce_s256_matches_the_rfc_7636_example() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(valid_verifier(verifier));
        assert!(pkce_matches(PkceMethod::S256, challenge, verifier));
        assert!(!pkce_matches(
            PkceMethod::S256,
            challenge,
            &verifier.replace('d', "e")
        ));
        assert!(!valid_verifier("too-short"));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}!", "a".repeat(50))));
    }
}
