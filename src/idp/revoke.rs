//! Token revocation (RFC 7009). Client-authenticated. An unknown token, or
//! one issued to another client, gets 200 and nothing happens (RFC 7009
//! 2.2: the response does not reveal whether a token exists). Revoking a
//! refresh token revokes its whole family, access tokens included.
//!
//! A JWT access token whose record was forgotten at the store's ceiling
//! ([`super::records`]) gets its record back, revoked, so introspection
//! and userinfo refuse it from then on; if the store is full of records it
//! cannot forget, the answer is 503 `temporarily_unavailable` and the
//! client must assume the token still valid and retry (RFC 7009 2.2.1).

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::bearer::forgotten_jwt;
use super::client_auth;
use super::error::TokenError;
use super::http::{RawBody, request_params};
use super::introspect::token_param;
use super::records::{AccessDraft, TokenId};
use super::state::{Grant, IdpState};
use crate::tls::PeerCertificates;

pub async fn handler(
    State(state): State<IdpState>,
    peer: Option<Extension<PeerCertificates>>,
    headers: HeaderMap,
    body: RawBody,
) -> Response {
    let peer = peer.as_ref().map(|Extension(p)| p);
    match respond(&state, &headers, &body, peer) {
        Ok(()) => {
            let mut r = StatusCode::OK.into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => e.into_response(),
    }
}

fn respond(
    state: &IdpState,
    headers: &HeaderMap,
    body: &RawBody,
    peer: Option<&PeerCertificates>,
) -> Result<(), TokenError> {
    let params = request_params(headers, body).map_err(TokenError::invalid_request)?;
    let mut store = state.store();
    let client = client_auth::authenticate_with_certificate(&store, headers, &params, peer)?;
    let token = token_param(&params)?;
    let id = TokenId::of(&token);
    let records = &mut store.records;
    let client_sym = records.find(client.id.as_str());
    if let Some(a) = records.access_mut(&id) {
        a.presented += 1;
        if Some(a.client) == client_sym {
            a.revoked = true;
        }
        return Ok(());
    }
    let family = records.refresh_mut(&id).and_then(|r| {
        r.presented += 1;
        (Some(r.client) == client_sym).then_some(r.family)
    });
    if let Some(family) = family {
        records.revoke_family(family);
        return Ok(());
    }
    let evicted_until = records.evicted_until();
    drop(store);
    let Some(claims) = forgotten_jwt(state, &token, evicted_until) else {
        return Ok(());
    };
    let now = state.now();
    if claims.client_id != client.id || now >= claims.exp {
        return Ok(());
    }
    let grant = match claims.grant_type.as_deref() {
        Some(super::jwt_bearer::GRANT_TYPE) => Grant::JwtBearer,
        Some(super::apikey::GRANT_TYPE) => Grant::ApiKey,
        _ => Grant::ClientCredentials,
    };
    let binding = claims.cnf.as_ref().and_then(|c| c.x5t_s256.as_deref());
    let draft = AccessDraft {
        id,
        client_id: claims.client_id.as_str(),
        sub: claims.subject(),
        scope: &claims.scope,
        audience: &claims.aud,
        format: super::fixtures::TokenFormat::Jwt,
        grant,
        issued_at: claims.iat,
        expires_at: claims.exp,
        auth_time: None,
        family: None,
        revoked: true,
        binding,
    };
    let mut store = state.store();
    // Found meanwhile (revoked twice at once): it is revoked either way.
    if let Some(a) = store.records.access_mut(&id) {
        a.revoked = true;
        return Ok(());
    }
    store.records.insert_tokens(draft, None, now)?;
    Ok(())
}
