//! The vault over HTTP, per organisation:
//!
//! | route | what |
//! |---|---|
//! | `POST /api/orgs/{org}/credentials` | `{"type","name",...}` → 201 the credential (secrets redacted); 400 `{"errors":[{field,code,message}]}`; 409 name taken or one-per-organisation kind |
//! | `GET /api/orgs/{org}/credentials` | `{"credentials":[...]}` |
//! | `GET /api/orgs/{org}/credentials/{name}` | one credential |
//! | `PUT /api/orgs/{org}/credentials/{name}` | replace; fields left out keep their saved values (so secrets need not be sent again) |
//! | `DELETE /api/orgs/{org}/credentials/{name}` | 204; 409 naming the integrations and the NLU domains that use it, unless `?force=true` |
//!
//! When the organisation has an `admin_token`, every route wants
//! `Authorization: Bearer <admin_token>` (401 otherwise).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Credential, FieldError, SaveError, edit, err};
use crate::platform::PlatformState;
use crate::platform::org::Org;

fn error(status: StatusCode, code: &str, description: impl Into<String>) -> Response {
    crate::platform::web::error(status, code, description.into())
}

/// `{"errors":[{field,code,message}]}` with `status`.
pub(crate) fn field_errors(status: StatusCode, errors: Vec<FieldError>) -> Response {
    (status, Json(json!({ "errors": errors }))).into_response()
}

/// The organisation, if it exists and the caller may act for it.
#[allow(clippy::result_large_err)]
pub(crate) fn authorised(
    state: &PlatformState,
    org: &str,
    headers: &HeaderMap,
) -> Result<Org, Response> {
    let Some(o) = state.org(org) else {
        return Err(error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no organisation {org:?}"),
        ));
    };
    if let Some(expected) = &o.admin_token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split_once(' ')
                    .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
                    .map(|(_, t)| t.trim())
            });
        if !presented.is_some_and(|p| expected.matches(p)) {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this organisation's credential API wants Authorization: Bearer <its admin token>",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"standin-platform\""),
            );
            return Err(r);
        }
    }
    Ok(o)
}

/// The organisation and its credential `name`, if the caller may act for
/// the organisation and the credential exists (404 otherwise).
#[allow(clippy::result_large_err)]
pub(crate) fn authorised_credential(
    state: &PlatformState,
    org: &str,
    name: &str,
    headers: &HeaderMap,
) -> Result<(Org, Credential), Response> {
    let org = authorised(state, org, headers)?;
    match state.vault.get(&org.id, name) {
        Some(c) => Ok((org, c)),
        None => Err(save_error(SaveError::NotFound, name)),
    }
}

pub(crate) fn save_error(e: SaveError, name: &str) -> Response {
    let conflict = matches!(
        e,
        SaveError::Exists | SaveError::OnlyOne { .. } | SaveError::TypeChanged { .. }
    );
    match edit::explain(e, name) {
        Ok(errors) if conflict => field_errors(StatusCode::CONFLICT, errors),
        Ok(errors) => field_errors(StatusCode::BAD_REQUEST, errors),
        Err(SaveError::NotFound) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no credential named {name:?} in this organisation"),
        ),
        Err(SaveError::Storage(e)) => {
            tracing::error!(error = %e, "vault write failed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the vault could not be written; nothing was saved",
            )
        }
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the saved credential could not be read",
        ),
    }
}

/// The body as a JSON object, or a 400 saying why not.
#[allow(clippy::result_large_err)]
pub(crate) fn object(body: &[u8]) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(field_errors(
            StatusCode::BAD_REQUEST,
            vec![err(
                "body",
                "not_an_object",
                "the body must be a JSON object",
            )],
        )),
        Err(e) => Err(field_errors(
            StatusCode::BAD_REQUEST,
            vec![err(
                "body",
                "invalid_json",
                format!("the body is not JSON: {e}"),
            )],
        )),
    }
}

/// `POST /api/orgs/{org}/credentials`.
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
    save_new(&state, &org, map).await
}

/// Run `f` off the async workers: opening a key store may take a second
/// of key derivation, and a vault write waits for the disk.
async fn blocking(f: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|_| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the credential could not be processed; nothing was saved",
        )
    })
}

async fn save_new(state: &PlatformState, org: &Org, map: Map<String, Value>) -> Response {
    let (state, org) = (state.clone(), org.clone());
    blocking(move || save_new_now(&state, &org, map)).await
}

fn save_new_now(state: &PlatformState, org: &Org, map: Map<String, Value>) -> Response {
    let name = map
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match edit::create(state, org, map) {
        Ok(credential) => (StatusCode::CREATED, Json(credential.view())).into_response(),
        Err(e) => save_error(e, &name),
    }
}

/// Body of `POST /api/orgs/{org}/credentials/consumer-auth`.
#[derive(Debug, Deserialize)]
pub struct NewConsumerAuth {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub url: String,
}

/// `POST /api/orgs/{org}/credentials/consumer-auth`: the same as
/// `POST .../credentials` with `"type": "consumer_authentication"`.
pub async fn create_consumer_auth(
    State(state): State<PlatformState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let org = match authorised(&state, &org, &headers) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let mut map = match object(&body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    map.insert(
        "type".into(),
        Value::String("consumer_authentication".into()),
    );
    save_new(&state, &org, map).await
}

/// `GET /api/orgs/{org}/credentials`.
pub async fn list(
    State(state): State<PlatformState>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> Response {
    let org = match authorised(&state, &org, &headers) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let credentials: Vec<Value> = state
        .vault
        .list(&org.id)
        .iter()
        .map(Credential::view)
        .collect();
    Json(json!({ "credentials": credentials })).into_response()
}

/// `GET /api/orgs/{org}/credentials/{name}`.
pub async fn read(
    State(state): State<PlatformState>,
    Path((org, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match authorised_credential(&state, &org, &name, &headers) {
        Ok((_, c)) => Json(c.view()).into_response(),
        Err(r) => r,
    }
}

/// `PUT /api/orgs/{org}/credentials/{name}`: the saved fields, overlaid
/// with the body's, validated as a whole.
pub async fn replace(
    State(state): State<PlatformState>,
    Path((org, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let org = match authorised(&state, &org, &headers) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let patch = match object(&body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    blocking(move || match edit::replace(&state, &org, &name, patch) {
        Ok(credential) => Json(credential.view()).into_response(),
        Err(e) => save_error(e, &name),
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct DeleteQuery {
    #[serde(default)]
    pub force: Option<String>,
}

/// `DELETE /api/orgs/{org}/credentials/{name}[?force=true]`.
pub async fn delete(
    State(state): State<PlatformState>,
    Path((org, name)): Path<(String, String)>,
    Query(query): Query<DeleteQuery>,
    headers: HeaderMap,
) -> Response {
    let org = match authorised(&state, &org, &headers) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let force = match query.force.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "force is true or false",
            );
        }
    };
    if state.vault.get(&org.id, &name).is_none() {
        return save_error(SaveError::NotFound, &name);
    }
    let users = edit::users(&state, &org, &name);
    if !users.is_empty() && !force {
        return (
            StatusCode::CONFLICT,
            Json(json!({
                "error": "in_use",
                "error_description": format!("credential {name:?} is used by {}; change them first or delete with ?force=true", users.describe()),
                "integrations": users.integrations,
                "domains": users.domains,
            })),
        )
            .into_response();
    }
    match edit::remove(&state, &org, &name) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => save_error(e, &name),
    }
}
