//! Token introspection (RFC 7662): client-authenticated; unknown, expired
//! and revoked tokens are `{"active": false}` with 200 (RFC 7662 2.2). A
//! token bound to a client certificate carries its `cnf` (RFC 8705 3.2).
//! A JWT access token whose record was forgotten at the store's ceiling is
//! answered from its signed claims ([`super::bearer::forgotten_jwt`]).

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::bearer::forgotten_jwt;
use super::client_auth;
use super::error::TokenError;
use super::http::{Params, RawBody, no_store_json, request_params};
use super::records::TokenId;
use super::state::IdpState;
use crate::tls::PeerCertificates;

pub async fn handler(
    State(state): State<IdpState>,
    peer: Option<Extension<PeerCertificates>>,
    headers: HeaderMap,
    body: RawBody,
) -> Response {
    let peer = peer.as_ref().map(|Extension(p)| p);
    match respond(&state, &headers, &body, peer) {
        Ok(v) => no_store_json(StatusCode::OK, v),
        Err(e) => e.into_response(),
    }
}

/// The `token` parameter of an introspection or revocation request.
pub fn token_param(params: &Params) -> Result<String, TokenError> {
    params
        .get("token")
        .map_err(|_| TokenError::invalid_request("parameter `token` is repeated"))?
        .map(String::from)
        .ok_or_else(|| TokenError::invalid_request("missing parameter `token`"))
}

fn respond(
    state: &IdpState,
    headers: &HeaderMap,
    body: &RawBody,
    peer: Option<&PeerCertificates>,
) -> Result<Value, TokenError> {
    let params = request_params(headers, body).map_err(TokenError::invalid_request)?;
    let mut store = state.store();
    // RFC 7662 2.1: the caller must authenticate; a public client's bare
    // client_id proves nothing.
    let client = client_auth::authenticate_with_certificate(&store, headers, &params, peer)?;
    if client.is_public() {
        return Err(TokenError::InvalidClient {
            description: "introspection needs client authentication with a secret".into(),
            basic: false,
        });
    }
    let token = token_param(&params)?;
    let now = state.now();
    let id = TokenId::of(&token);
    let issuer = state.issuer.to_string();
    if let Some(a) = store.records.access_mut(&id) {
        a.presented += 1;
    } else if let Some(r) = store.records.refresh_mut(&id) {
        r.presented += 1;
    }
    let guard = store;
    let store = &*guard;
    let records = &store.records;
    if let Some(a) = records.access(&id) {
        if records.access_revoked(a) || now >= a.expires_at() {
            return Ok(json!({ "active": false }));
        }
        let client_id = records.text(a.client);
        let sub = a.sub.map(|s| records.text(s));
        let mut v = json!({
            "active": true,
            "token_type": "Bearer",
            "scope": records.text(a.scope),
            "client_id": client_id,
            "exp": a.expires_at(),
            "iat": a.issued_at,
            "nbf": a.issued_at,
            "iss": issuer,
            "aud": records.text(a.audience),
            "sub": sub.unwrap_or(client_id),
        });
        if let Some(t) = a.auth_time() {
            v["auth_time"] = t.unix_secs().into();
        }
        if let Some(u) = sub.and_then(|s| store.user_by_sub(s)) {
            v["username"] = u.username.clone().into();
        }
        // RFC 8705 3.2: the certificate the token is bound to.
        if let Some(x5t) = records.binding(&id) {
            v["cnf"] = json!({ "x5t#S256": x5t });
        }
        return Ok(v);
    }
    if let Some(r) = records.refresh(&id) {
        if records.refresh_revoked(r) || r.rotated || now >= r.expires_at {
            return Ok(json!({ "active": false }));
        }
        return Ok(json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": records.text(r.scope),
            "client_id": records.text(r.client),
            "exp": r.expires_at,
            "iat": r.issued_at,
            "iss": issuer,
            "sub": records.text(r.sub),
        }));
    }
    let evicted_until = records.evicted_until();
    drop(guard);
    Ok(match forgotten_jwt(state, &token, evicted_until) {
        Some(c) if now < c.exp => {
            let mut v = json!({
                "active": true,
                "token_type": "Bearer",
                "scope": c.scope,
                "client_id": c.client_id,
                "exp": c.exp,
                "iat": c.iat,
                "nbf": c.iat,
                "iss": c.iss,
                "aud": c.aud,
                "sub": c.sub,
            });
            if let Some(x5t) = c.cnf.and_then(|c| c.x5t_s256) {
                v["cnf"] = json!({ "x5t#S256": x5t });
            }
            v
        }
        _ => json!({ "active": false }),
    })
}
