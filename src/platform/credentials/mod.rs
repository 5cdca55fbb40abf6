//! The credential vault: credentials per organisation, validated on save.
//!
//! Only the Consumer Authentication kind exists so far ([`consumer_auth`]).
//! The vault is in memory; credentials of one organisation are invisible
//! and unusable to another (every lookup is keyed by organisation).

pub mod consumer_auth;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub use consumer_auth::{ConsumerAuth, FieldError};

use super::PlatformState;
use super::org::OrgId;

/// A credential an integration can use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Credential {
    /// The consumer signs in through a link; the token lives in the conversation.
    ConsumerAuthentication(ConsumerAuth),
}

impl Credential {
    pub fn name(&self) -> &str {
        match self {
            Credential::ConsumerAuthentication(c) => &c.name,
        }
    }
}

/// Credentials by organisation and name.
#[derive(Clone, Default)]
pub struct Vault {
    inner: Arc<Mutex<BTreeMap<(OrgId, String), Credential>>>,
}

/// Why a credential could not be saved.
#[derive(Debug)]
pub enum SaveError {
    Invalid(Vec<FieldError>),
    Exists,
}

impl Vault {
    /// Save a new credential; names are unique within an organisation.
    pub fn insert(&self, org: &OrgId, credential: Credential) -> Result<(), SaveError> {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let key = (org.clone(), credential.name().to_string());
        if map.contains_key(&key) {
            return Err(SaveError::Exists);
        }
        map.insert(key, credential);
        Ok(())
    }

    /// The credential `name` of `org`, if that organisation has one.
    pub fn get(&self, org: &OrgId, name: &str) -> Option<Credential> {
        let map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&(org.clone(), name.to_string())).cloned()
    }

    /// Every credential of `org`, by name.
    pub fn list(&self, org: &OrgId) -> Vec<Credential> {
        let map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .filter(|((o, _), _)| o == org)
            .map(|(_, c)| c.clone())
            .collect()
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

fn no_org(org: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "not_found", "error_description": format!("no organisation {org:?}") })),
    )
        .into_response()
}

/// `POST /api/orgs/{org}/credentials/consumer-auth`: 201 with the saved
/// credential, 400 `{"errors": [{field, code, message}]}`, 409 on a
/// duplicate name, 404 for an unknown organisation.
pub async fn create_consumer_auth(
    State(state): State<PlatformState>,
    Path(org): Path<String>,
    body: Result<Json<NewConsumerAuth>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Some(org) = state.org(&org) else {
        return no_org(&org);
    };
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "errors": [{ "field": "body", "code": "invalid_json", "message": e.body_text() }] })),
            )
                .into_response();
        }
    };
    match consumer_auth::validate(&body.name, &body.url, &org, state.url()) {
        Err(errors) => (StatusCode::BAD_REQUEST, Json(json!({ "errors": errors }))).into_response(),
        Ok(credential) => {
            let credential = Credential::ConsumerAuthentication(credential);
            match state.vault.insert(&org.id, credential.clone()) {
                Ok(()) => (StatusCode::CREATED, Json(credential)).into_response(),
                Err(_) => (
                    StatusCode::CONFLICT,
                    Json(json!({ "errors": [{ "field": "name", "code": "exists", "message": "a credential with this name exists in this organisation" }] })),
                )
                    .into_response(),
            }
        }
    }
}

/// `GET /api/orgs/{org}/credentials` and `.../credentials/consumer-auth`:
/// `{"credentials": [...]}`.
pub async fn list(State(state): State<PlatformState>, Path(org): Path<String>) -> Response {
    let Some(org) = state.org(&org) else {
        return no_org(&org);
    };
    Json(json!({ "credentials": state.vault.list(&org.id) })).into_response()
}
