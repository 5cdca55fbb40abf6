//! Checking an access token presented to the IdP's own protected resource
//! (userinfo), and reading a JWT access token whose record was forgotten.
//!
//! A JWT is verified first with the key its `kid` names, pinned to that
//! key's algorithm, so `alg: none`, HMAC signed with a public key, an
//! unknown `kid` and a bad signature all fail; then the record decides
//! (revoked, expired on the shared clock). An opaque token is found by its
//! hash.
//!
//! A JWT access token of a client credentials, JWT bearer or API key grant
//! may have lost its record at the store's ceiling
//! ([`super::records`]): it is then judged by its signature and claims
//! alone ([`forgotten_jwt`]), as the brand API judges it.

use axum::http::{HeaderMap, header};
use jsonwebtoken::Validation;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::BearerError;
use super::fixtures::TokenFormat;
use super::http::Params;
use super::records::TokenId;
use super::state::{IdpState, Scope};
use crate::clock::Instant;
use crate::tls::PeerCertificates;
use crate::wire::ClientId;

/// The bearer token of a request: the Authorization header (RFC 6750 2.1)
/// or, for a form POST, the `access_token` body parameter (2.2); never both.
pub fn extract(headers: &HeaderMap, form: Option<&Params>) -> Result<String, BearerError> {
    let from_header = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(v) => {
            let v = v.to_str().map_err(|_| {
                BearerError::InvalidRequest("malformed Authorization header".into())
            })?;
            match v.split_once(' ') {
                Some((scheme, token))
                    if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
                {
                    Some(token.trim().to_string())
                }
                _ => {
                    return Err(BearerError::InvalidRequest(
                        "the Authorization header is not a Bearer token".into(),
                    ));
                }
            }
        }
    };
    let from_body = match form {
        None => None,
        Some(p) => p
            .get("access_token")
            .map_err(|_| BearerError::InvalidRequest("access_token is repeated".into()))?
            .map(String::from),
    };
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(BearerError::InvalidRequest(
            "more than one way of sending the token was used".into(),
        )),
        (Some(t), None) | (None, Some(t)) => Ok(t),
        (None, None) => Err(BearerError::Missing),
    }
}

/// Verify a JWT's signature with the published key its header names, and
/// read its claims as `T`; with `typ`, the header must carry that type.
fn verify<T: DeserializeOwned>(
    state: &IdpState,
    token: &str,
    typ: Option<&str>,
) -> Result<T, BearerError> {
    let invalid = |d: &str| BearerError::InvalidToken(d.to_string());
    let header =
        jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed token header"))?;
    if let Some(typ) = typ
        && !header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(typ))
    {
        return Err(invalid("the token is not an access token"));
    }
    let kid = header.kid.ok_or_else(|| invalid("the token has no kid"))?;
    let key = state
        .keys()
        .find(&kid)
        .ok_or_else(|| invalid("the token's kid is not in the JWKS"))?;
    if header.alg != key.alg().jwt_algorithm() {
        return Err(invalid("the token's alg does not match its key"));
    }
    let mut validation = Validation::new(key.alg().jwt_algorithm());
    // Time and audience are checked against the shared clock and the record.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<T>(token, key.decoding_key(), &validation)
        .map(|data| data.claims)
        .map_err(|_| invalid("the token's signature does not verify"))
}

/// The claims of a JWT access token this IdP signed (RFC 9068 2.2).
#[derive(Debug, Deserialize)]
pub struct SignedClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: Instant,
    pub iat: Instant,
    pub client_id: ClientId,
    pub scope: String,
    /// Service-credential tokens name their grant ([`super::service_token`]).
    #[serde(default)]
    pub grant_type: Option<String>,
    #[serde(default)]
    pub cnf: Option<Confirmation>,
}

/// RFC 8705 3.1.
#[derive(Debug, Deserialize)]
pub struct Confirmation {
    #[serde(rename = "x5t#S256")]
    pub x5t_s256: Option<String>,
}

impl SignedClaims {
    /// The user or service account it stands for: `None` for client
    /// credentials (RFC 9068 2.2 makes `sub` the client then).
    pub fn subject(&self) -> Option<&str> {
        (self.grant_type.is_some() || self.client_id != *self.sub).then_some(self.sub.as_str())
    }
}

/// The claims of `token` if it is a JWT access token that this IdP signed
/// and whose record it may have forgotten at its ceiling: signed by a
/// published key, `typ` `at+jwt`, this issuer, and expiring no later than
/// the last live token forgotten (`evicted_until`, from
/// [`super::records::Records::evicted_until`]). `None` for anything else,
/// which is then simply unknown.
pub fn forgotten_jwt(
    state: &IdpState,
    token: &str,
    evicted_until: Option<Instant>,
) -> Option<SignedClaims> {
    let horizon = evicted_until?;
    if token.split('.').count() != 3 {
        return None;
    }
    let claims: SignedClaims = verify(state, token, Some("at+jwt")).ok()?;
    (claims.iss == *state.issuer && claims.exp <= horizon).then_some(claims)
}

/// A valid access token, as userinfo needs it.
#[derive(Debug)]
pub struct Validated {
    pub client_id: ClientId,
    /// The user (or service account) it stands for; `None` for a client
    /// credentials token.
    pub sub: Option<String>,
    pub scope: Scope,
    /// `x5t#S256` of the client certificate it is bound to (RFC 8705 3).
    pub binding: Option<String>,
}

/// What the store says of a presented access token.
enum Found {
    Record {
        format: TokenFormat,
        revoked: bool,
        expires_at: Instant,
        token: Validated,
    },
    Unknown {
        evicted_until: Option<Instant>,
    },
}

/// Validate a presented access token; counts the presentation.
pub fn validate(state: &IdpState, token: &str) -> Result<Validated, BearerError> {
    let looks_like_jwt = token.split('.').count() == 3;
    let id = TokenId::of(token);
    let found = {
        let mut store = state.store();
        let records = &mut store.records;
        if let Some(r) = records.access_mut(&id) {
            r.presented += 1;
        }
        match records.access(&id) {
            Some(r) => Found::Record {
                format: r.format,
                revoked: records.access_revoked(r),
                expires_at: r.expires_at(),
                token: Validated {
                    client_id: ClientId::new(records.text(r.client)),
                    sub: r.sub.map(|s| records.text(s).to_string()),
                    scope: Scope::parse(records.text(r.scope)),
                    binding: records.binding(&id).map(str::to_string),
                },
            },
            None => Found::Unknown {
                evicted_until: records.evicted_until(),
            },
        }
    };
    let (revoked, expires_at, token_found) = match found {
        Found::Record {
            format,
            revoked,
            expires_at,
            token: found,
        } => {
            if looks_like_jwt || format == TokenFormat::Jwt {
                verify::<serde_json::Value>(state, token, None)?;
            }
            (revoked, expires_at, found)
        }
        Found::Unknown { evicted_until } => {
            if looks_like_jwt {
                verify::<serde_json::Value>(state, token, None)?;
            }
            let claims = forgotten_jwt(state, token, evicted_until)
                .ok_or_else(|| BearerError::InvalidToken("unknown access token".into()))?;
            let found = Validated {
                client_id: claims.client_id.clone(),
                sub: claims.subject().map(str::to_string),
                scope: Scope::parse(&claims.scope),
                binding: claims.cnf.and_then(|c| c.x5t_s256),
            };
            (false, claims.exp, found)
        }
    };
    if revoked {
        return Err(BearerError::InvalidToken(
            "the access token has been revoked".into(),
        ));
    }
    if state.now() >= expires_at {
        return Err(BearerError::InvalidToken(
            "the access token has expired".into(),
        ));
    }
    Ok(token_found)
}

/// A token bound to a client certificate (RFC 8705 3) is accepted only
/// from a client presenting that certificate.
pub fn check_binding(
    token: &Validated,
    peer: Option<&PeerCertificates>,
) -> Result<(), BearerError> {
    match (&token.binding, peer.and_then(PeerCertificates::thumbprint)) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(BearerError::InvalidToken(
            "the access token is bound to a TLS client certificate (RFC 8705): present it over mutual TLS".into(),
        )),
        (Some(bound), Some(presented)) if *bound == presented => Ok(()),
        (Some(_), Some(_)) => Err(BearerError::InvalidToken(
            "the access token is bound to another client certificate".into(),
        )),
    }
}
