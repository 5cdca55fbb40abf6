//! Token introspection (RFC 7662): client-authenticated; unknown, expired
//! and revoked tokens are `{"active": false}` with 200 (RFC 7662 2.2). A
//! token bound to a client certificate carries its `cnf` (RFC 8705 3.2).

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::client_auth;
use super::error::TokenError;
use super::http::{Params, RawBody, form_params, no_store_json};
use super::state::{IdpState, token_id};
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
    let params = form_params(headers, body).map_err(TokenError::invalid_request)?;
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
    let id = token_id(&token);
    let issuer = state.issuer.to_string();
    if let Some(a) = store.access.get_mut(&id) {
        a.presented += 1;
        if a.revoked || now >= a.expires_at {
            return Ok(json!({ "active": false }));
        }
        let mut v = json!({
            "active": true,
            "token_type": "Bearer",
            "scope": a.scope.to_string(),
            "client_id": a.client_id,
            "exp": a.expires_at,
            "iat": a.issued_at,
            "nbf": a.issued_at,
            "iss": issuer,
            "aud": a.audience,
            "sub": a.sub.clone().unwrap_or_else(|| a.client_id.clone()),
        });
        if let Some(t) = a.auth_time {
            v["auth_time"] = t.into();
        }
        let sub = a.sub.clone();
        let username = sub
            .as_deref()
            .and_then(|s| store.user_by_sub(s))
            .map(|u| u.username.clone());
        if let Some(u) = username {
            v["username"] = u.into();
        }
        // RFC 8705 3.2: the certificate the token is bound to.
        if let Some(x5t) = store.certificate_bindings.get(&id) {
            v["cnf"] = json!({ "x5t#S256": x5t });
        }
        return Ok(v);
    }
    if let Some(r) = store.refresh.get_mut(&id) {
        r.presented += 1;
        if r.revoked || r.rotated || now >= r.expires_at {
            return Ok(json!({ "active": false }));
        }
        return Ok(json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": r.scope.to_string(),
            "client_id": r.client_id,
            "exp": r.expires_at,
            "iat": r.issued_at,
            "iss": issuer,
            "sub": r.sub,
        }));
    }
    Ok(json!({ "active": false }))
}
