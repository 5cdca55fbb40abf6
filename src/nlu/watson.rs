//! The Watson-like endpoint: `POST /v1/workspaces/{workspace}/train`, also
//! below an instance URL (`/instances/{instance}/v1/workspaces/{workspace}/train`,
//! the shape of a Watson Assistant service URL), answered
//! `{"status": "training", "workspace_id", "trained_by"}`.
//!
//! Beyond a valid token of the IdP ([`super::auth`]), the token must come
//! from an API key ([`crate::idp::apikey::GRANT_TYPE`]); any other is 403
//! `insufficient_scope`. Workspaces are not bound to keys: any API key of
//! the IdP may train any workspace.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::{NluCaller, NluError, authenticate};
use super::log::{Engine, Outcome};
use super::state::NluState;
use crate::idp::apikey;

/// Whether `caller` may train a workspace.
pub fn permit(caller: &NluCaller) -> Result<(), NluError> {
    if caller.grant_type.as_deref() != Some(apikey::GRANT_TYPE) {
        return Err(NluError::forbidden(
            "Watson needs a token from an IBM Cloud IAM style API key",
        ));
    }
    Ok(())
}

async fn respond(state: &NluState, workspace: String, headers: &HeaderMap) -> Response {
    let mut outcome = Outcome::new(Engine::Watson, &workspace);
    let caller = match authenticate(state, headers).await {
        Ok(caller) => caller,
        Err(refusal) => return refusal.respond(outcome),
    };
    outcome.sub = Some(caller.sub.clone());
    outcome.grant_type = caller.grant_type.clone();
    if let Err(e) = permit(&caller) {
        return e.respond(outcome);
    }
    let mut response = (
        StatusCode::OK,
        axum::Json(json!({
            "status": "training",
            "workspace_id": workspace,
            "trained_by": caller.sub,
        })),
    )
        .into_response();
    response.extensions_mut().insert(outcome);
    response
}

/// `POST /v1/workspaces/{workspace}/train`.
pub async fn train(
    State(state): State<NluState>,
    Path(workspace): Path<String>,
    headers: HeaderMap,
) -> Response {
    respond(&state, workspace, &headers).await
}

/// `POST /instances/{instance}/v1/workspaces/{workspace}/train`.
pub async fn train_in_instance(
    State(state): State<NluState>,
    Path((_instance, workspace)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    respond(&state, workspace, &headers).await
}
