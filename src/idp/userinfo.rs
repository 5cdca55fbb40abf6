//! The UserInfo endpoint (OIDC Core 5.3): GET and POST, bearer protected.
//! A token bound to a client certificate (RFC 8705 3) is accepted only
//! over mutual TLS with that certificate.

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::bearer;
use super::error::BearerError;
use super::http::{RawBody, form_params, is_form, no_store_json};
use super::state::IdpState;
use super::tokens::claims_for;
use crate::tls::PeerCertificates;

pub async fn handler(
    State(state): State<IdpState>,
    peer: Option<Extension<PeerCertificates>>,
    method: Method,
    headers: HeaderMap,
    body: RawBody,
) -> Response {
    let peer = peer.as_ref().map(|Extension(p)| p);
    match respond(&state, &method, &headers, &body, peer) {
        Ok(claims) => no_store_json(StatusCode::OK, claims),
        Err(e) => e.into_response(),
    }
}

fn respond(
    state: &IdpState,
    method: &Method,
    headers: &HeaderMap,
    body: &RawBody,
    peer: Option<&PeerCertificates>,
) -> Result<serde_json::Value, BearerError> {
    let form = if method == Method::POST && is_form(headers) {
        Some(form_params(headers, body).map_err(BearerError::InvalidRequest)?)
    } else {
        None
    };
    let token = bearer::extract(headers, form.as_ref())?;
    let record = bearer::validate(state, &token)?;
    bearer::check_binding(&record, peer)?;
    if !record.scope.contains("openid") {
        return Err(BearerError::InsufficientScope(
            "userinfo needs the openid scope".into(),
        ));
    }
    let sub = record
        .sub
        .ok_or_else(|| BearerError::InvalidToken("this token does not represent a user".into()))?;
    let store = state.store();
    let user = store.user_by_sub(&sub).ok_or_else(|| {
        BearerError::InvalidToken("the user of this token no longer exists".into())
    })?;
    let mut claims = claims_for(user, &record.scope);
    let sub = if state.quirk(super::quirks::Quirk::UserinfoSubDiffers) {
        format!("{sub}-other")
    } else {
        sub
    };
    claims.insert("sub".into(), sub.into());
    Ok(serde_json::Value::Object(claims))
}
