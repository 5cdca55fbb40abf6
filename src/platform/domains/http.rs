//! Domains over HTTP, per organisation (authorised like the credential
//! API: the organisation's admin token when it has one):
//!
//! | route | what |
//! |---|---|
//! | `GET /api/orgs/{org}/domains` | `{"domains":[{name, credential, project_id?, workspace_id?}]}` |
//! | `POST /api/orgs/{org}/domains` | `{name, credential, project_id?, workspace_id?}` → 201 the domain; 400 `{"errors":[{field,code,message}]}`; 409 name taken |
//! | `POST /api/orgs/{org}/domains/{domain}/train` | see [`super::train`] |
//!
//! A domain is created only with a Third-party NLU credential the
//! organisation has saved, and with the ids its provider needs.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Domain;
use crate::platform::PlatformState;
use crate::platform::credentials::err;
use crate::platform::credentials::http::{authorised, field_errors, object};

/// `GET /api/orgs/{org}/domains`.
pub async fn list(
    State(state): State<PlatformState>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> Response {
    let org = match authorised(&state, &org, &headers) {
        Ok(o) => o,
        Err(r) => return r,
    };
    Json(json!({ "domains": state.domains.list(&org.id) })).into_response()
}

/// `POST /api/orgs/{org}/domains`.
pub async fn create(
    State(state): State<PlatformState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let org = match authorised(&state, &org, &headers) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let map = match object(&body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let domain: Domain = match serde_path_to_error::deserialize(serde_json::Value::Object(map)) {
        Ok(d) => d,
        Err(e) => {
            return field_errors(
                StatusCode::BAD_REQUEST,
                vec![err(
                    "body",
                    "invalid_field",
                    format!("{}: {}", e.path(), e.inner()),
                )],
            );
        }
    };
    let mut errors = domain.check();
    if errors.is_empty() {
        errors = domain.check_credential(state.vault.get(&org.id, &domain.credential).as_ref());
    }
    if !errors.is_empty() {
        return field_errors(StatusCode::BAD_REQUEST, errors);
    }
    let name = domain.name.clone();
    if !state.domains.insert(&org.id, domain.clone()) {
        return field_errors(
            StatusCode::CONFLICT,
            vec![err(
                "name",
                "exists",
                format!("a domain named {name:?} exists in this organisation"),
            )],
        );
    }
    tracing::info!(org = %org.id, domain = %name, credential = %domain.credential, "domain created");
    (StatusCode::CREATED, Json(domain)).into_response()
}
