//! The Dialogflow-like endpoint: `POST /v2/projects/{project}/agent:train`
//! (Dialogflow ES `projects.agent.train`), answered with a long-running
//! operation `{"name": "projects/{project}/operations/{id}", "done": false,
//! "status": "training", "project", "trained_by"}`.
//!
//! Beyond a valid token of the IdP ([`super::auth`]), the caller must be a
//! service account of that project: a token from the JWT bearer grant
//! ([`crate::idp::jwt_bearer::GRANT_TYPE`]), with the `cloud-platform` or
//! `dialogflow` scope, whose `project_id` is the path's project. Anything
//! else is 403 `insufficient_scope` naming what is missing.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::{NluCaller, NluError, authenticate};
use super::log::{Engine, Outcome};
use super::state::NluState;
use crate::idp::jwt_bearer;
use crate::idp::service_accounts::DIALOGFLOW_SCOPES;
use crate::secret::random_token;

/// Whether `caller` may train `project`.
pub fn permit(caller: &NluCaller, project: &str) -> Result<(), NluError> {
    if caller.grant_type.as_deref() != Some(jwt_bearer::GRANT_TYPE) {
        return Err(NluError::forbidden(
            "Dialogflow needs a service account's token (JWT bearer grant, RFC 7523)",
        ));
    }
    if !DIALOGFLOW_SCOPES.iter().any(|s| caller.has_scope(s)) {
        return Err(NluError::InsufficientScope {
            description: format!(
                "training needs the scope {} or {}",
                DIALOGFLOW_SCOPES[0], DIALOGFLOW_SCOPES[1]
            ),
            scope: Some(DIALOGFLOW_SCOPES[1]),
        });
    }
    if caller.project_id.as_deref() != Some(project) {
        return Err(NluError::forbidden(format!(
            "the service account {} is not a member of project {project}",
            caller.sub
        )));
    }
    Ok(())
}

/// `POST /v2/projects/{project}/agent:train`.
pub async fn train(
    State(state): State<NluState>,
    Path(project): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut outcome = Outcome::new(Engine::Dialogflow, &project);
    let caller = match authenticate(&state, &headers).await {
        Ok(caller) => caller,
        Err(refusal) => return refusal.respond(outcome),
    };
    outcome.sub = Some(caller.sub.clone());
    outcome.grant_type = caller.grant_type.clone();
    if let Err(e) = permit(&caller, &project) {
        return e.respond(outcome);
    }
    let mut response = (
        StatusCode::OK,
        axum::Json(json!({
            "name": format!("projects/{project}/operations/{}", random_token(12)),
            "done": false,
            "status": "training",
            "project": project,
            "trained_by": caller.sub,
        })),
    )
        .into_response();
    response.extensions_mut().insert(outcome);
    response
}
