//! Token revocation (RFC 7009). Client-authenticated. An unknown token, or
//! one issued to another client, gets 200 and nothing happens (RFC 7009
//! 2.2: the response does not reveal whether a token exists). Revoking a
//! refresh token revokes its whole family, access tokens included.

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::client_auth;
use super::error::TokenError;
use super::http::{RawBody, form_params};
use super::introspect::token_param;
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
    let params = form_params(headers, body).map_err(TokenError::invalid_request)?;
    let mut store = state.store();
    let client = client_auth::authenticate_with_certificate(&store, headers, &params, peer)?;
    let token = token_param(&params)?;
    let id = token_id(&token);
    if let Some(a) = store.access.get_mut(&id) {
        a.presented += 1;
        if a.client_id == client.id {
            a.revoked = true;
        }
        return Ok(());
    }
    let family = store.refresh.get_mut(&id).and_then(|r| {
        r.presented += 1;
        (r.client_id == client.id).then(|| r.family.clone())
    });
    if let Some(family) = family {
        store.revoke_family(&family);
    }
    Ok(())
}
