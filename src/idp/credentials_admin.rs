//! The admin routes for service credentials, merged into [`super::admin`]'s
//! (and guarded the same way):
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /admin/service-accounts` | [`NewServiceAccount`] | 201, the Google service-account key JSON ([`ServiceAccountKeyFile`]) |
//! | `DELETE /admin/service-accounts/{client_email}` | | 204; its assertions are refused from then on |
//! | `POST /admin/api-keys` | [`NewApiKey`] | 201, IBM-style service credentials ([`ApiKeyFile`]) |
//! | `DELETE /admin/api-keys/{id}` | | 204; the key gets no more tokens |

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};

use super::admin::{ControlError, JsonBody};
use super::apikey::{ApiKeyFile, NewApiKey};
use super::service_accounts::{NewServiceAccount, ServiceAccountKeyFile};
use super::state::IdpState;

async fn post_service_account(
    State(state): State<IdpState>,
    JsonBody(request): JsonBody<NewServiceAccount>,
) -> Result<(StatusCode, Json<ServiceAccountKeyFile>), ControlError> {
    // RSA key generation: keep it off the async workers.
    let file = tokio::task::spawn_blocking(move || state.create_service_account(request))
        .await
        .map_err(|_| ControlError::Invalid("key generation failed".into()))??;
    Ok((StatusCode::CREATED, Json(file)))
}

async fn delete_service_account(
    State(state): State<IdpState>,
    Path(client_email): Path<String>,
) -> Result<StatusCode, ControlError> {
    state.remove_service_account(&client_email)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn post_api_key(
    State(state): State<IdpState>,
    JsonBody(request): JsonBody<NewApiKey>,
) -> Result<(StatusCode, Json<ApiKeyFile>), ControlError> {
    Ok((StatusCode::CREATED, Json(state.create_api_key(request)?)))
}

async fn delete_api_key(
    State(state): State<IdpState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ControlError> {
    state.remove_api_key(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The routes above, without the admin guard (the caller adds it).
pub fn routes() -> Router<IdpState> {
    Router::new()
        .route("/admin/service-accounts", post(post_service_account))
        .route(
            "/admin/service-accounts/{client_email}",
            delete(delete_service_account),
        )
        .route("/admin/api-keys", post(post_api_key))
        .route("/admin/api-keys/{id}", delete(delete_api_key))
}
