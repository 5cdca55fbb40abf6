//! Checking an access token presented to the IdP's own protected resource
//! (userinfo).
//!
//! A JWT is verified first with the key its `kid` names, pinned to that
//! key's algorithm, so `alg: none`, HMAC signed with a public key, an
//! unknown `kid` and a bad signature all fail; then the record decides
//! (revoked, expired on the shared clock). An opaque token is found by its
//! hash.

use axum::http::{HeaderMap, header};
use jsonwebtoken::Validation;

use super::error::BearerError;
use super::fixtures::TokenFormat;
use super::http::Params;
use super::state::{AccessRecord, IdpState, token_id};
use crate::tls::PeerCertificates;

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

/// Verify a JWT's signature with the published key its header names.
fn verify_signature(state: &IdpState, token: &str) -> Result<(), BearerError> {
    let invalid = |d: &str| BearerError::InvalidToken(d.to_string());
    let header =
        jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed token header"))?;
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
    jsonwebtoken::decode::<serde_json::Value>(token, key.decoding_key(), &validation)
        .map_err(|_| invalid("the token's signature does not verify"))?;
    Ok(())
}

/// Validate a presented access token; counts the presentation.
pub fn validate(state: &IdpState, token: &str) -> Result<AccessRecord, BearerError> {
    let looks_like_jwt = token.split('.').count() == 3;
    let id = token_id(token);
    let record = {
        let mut store = state.store();
        store.access.get_mut(&id).map(|r| {
            r.presented += 1;
            r.clone()
        })
    };
    if looks_like_jwt
        || record
            .as_ref()
            .is_some_and(|r| r.format == TokenFormat::Jwt)
    {
        verify_signature(state, token)?;
    }
    let record = record.ok_or_else(|| BearerError::InvalidToken("unknown access token".into()))?;
    if record.revoked {
        return Err(BearerError::InvalidToken(
            "the access token has been revoked".into(),
        ));
    }
    if state.now() >= record.expires_at {
        return Err(BearerError::InvalidToken(
            "the access token has expired".into(),
        ));
    }
    Ok(record)
}

/// A token bound to a client certificate (RFC 8705 3) is accepted only
/// from a client presenting that certificate.
pub fn check_binding(
    state: &IdpState,
    record: &AccessRecord,
    peer: Option<&PeerCertificates>,
) -> Result<(), BearerError> {
    let bound = state.store().certificate_bindings.get(&record.id).cloned();
    match (bound, peer.and_then(PeerCertificates::thumbprint)) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(BearerError::InvalidToken(
            "the access token is bound to a TLS client certificate (RFC 8705): present it over mutual TLS".into(),
        )),
        (Some(bound), Some(presented)) if bound == presented => Ok(()),
        (Some(_), Some(_)) => Err(BearerError::InvalidToken(
            "the access token is bound to another client certificate".into(),
        )),
    }
}
