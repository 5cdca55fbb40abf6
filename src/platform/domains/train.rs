//! `POST /api/orgs/{org}/domains/{domain}/train`: train a domain's model
//! with its Third-party NLU credential.
//!
//! - Google Dialogflow: `POST {api_url}/v2/projects/{project}/agent:train`
//!   (Dialogflow ES `projects.agent.train`), `project` being the domain's
//!   `project_id` or else the service account's.
//! - IBM Watson: `POST {url}/v1/workspaces/{workspace_id}/train`, `url`
//!   being the service instance URL of the credentials.
//!
//! Both with `Authorization: Bearer <token>` ([`super::token`]). A cached
//! token the engine refuses with 401 is forgotten and the call made once
//! more with a new one.
//!
//! Answers (JSON, RFC 6749 5.2 shaped when an error):
//! - 200 `{"domain", "provider", "status", "project_id" | "workspace_id"}`,
//!   `status` as the engine says (`training`);
//! - 404 `not_found`: no such domain;
//! - 409 `domain_misconfigured`: its credential is missing, not a
//!   Third-party NLU credential, or lacks what the engine needs;
//! - 502 `token_refused` (with `token_error`, the token endpoint's RFC 6749
//!   5.2 code), `token_unavailable`, `nlu_refused` (with `nlu_status` and
//!   `nlu_error`), `nlu_unavailable`.
//!
//! No answer, log line or `Debug` holds the key, the assertion or a token.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tracing::instrument;

use super::Domain;
use super::token::{self, NluToken, TokenFailure};
use crate::platform::PlatformState;
use crate::platform::credentials::http::authorised;
use crate::platform::credentials::third_party_nlu::{Provider, ProviderKey, ThirdPartyNlu};
use crate::platform::credentials::{Credential, Kind};
use crate::platform::oauth::token_response::TokenError;
use crate::platform::org::OrgId;

/// What a training call goes to.
struct Target {
    provider: Provider,
    /// `project_id` or `workspace_id`, and its value.
    model: (&'static str, String),
    url: String,
}

impl Target {
    fn of(domain: &Domain, nlu: &ThirdPartyNlu, key: &ProviderKey) -> Self {
        match key {
            ProviderKey::Dialogflow(account) => {
                let project = domain
                    .project_id
                    .clone()
                    .unwrap_or_else(|| account.project_id.clone());
                Target {
                    provider: Provider::GoogleDialogflow,
                    url: format!(
                        "{}/v2/projects/{project}/agent:train",
                        nlu.dialogflow_api().trim_end_matches('/')
                    ),
                    model: ("project_id", project),
                }
            }
            ProviderKey::Watson(w) => {
                let workspace = domain.workspace_id.clone().unwrap_or_default();
                Target {
                    provider: Provider::IbmWatson,
                    url: format!(
                        "{}/v1/workspaces/{workspace}/train",
                        w.url.as_str().trim_end_matches('/')
                    ),
                    model: ("workspace_id", workspace),
                }
            }
        }
    }
}

/// An error answer naming the domain (and its provider when known).
fn refusal(
    status: StatusCode,
    code: &str,
    description: String,
    domain: &str,
    extra: Map<String, Value>,
) -> Response {
    let mut body = Map::new();
    body.insert("error".into(), code.into());
    body.insert("error_description".into(), description.into());
    body.insert("domain".into(), domain.into());
    body.extend(extra);
    (status, Json(Value::Object(body))).into_response()
}

/// `POST /api/orgs/{org}/domains/{domain}/train`.
pub async fn train(
    State(state): State<PlatformState>,
    Path((org, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let org = match authorised(&state, &org, &headers) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let Some(domain) = state.domains.get(&org.id, &name) else {
        return crate::platform::web::error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no domain named {name:?} in this organisation"),
        );
    };
    let credential = state.vault.get(&org.id, &domain.credential);
    let misconfigured = |reasons: Vec<String>| {
        refusal(
            StatusCode::CONFLICT,
            "domain_misconfigured",
            format!("domain {name:?} cannot be trained: {}", reasons.join("; ")),
            &name,
            Map::new(),
        )
    };
    let problems = domain.check_credential(credential.as_ref());
    if !problems.is_empty() {
        return misconfigured(problems.into_iter().map(|e| e.message).collect());
    }
    let Some(Credential {
        kind: Kind::ThirdPartyNlu(nlu),
        ..
    }) = credential
    else {
        return misconfigured(vec![
            "its credential is not a Third-party NLU credential".into(),
        ]);
    };
    let key = match nlu.key() {
        Ok(k) => k,
        Err(reason) => return misconfigured(vec![reason]),
    };
    let target = Target::of(&domain, &nlu, &key);
    run(&state, &org.id, &domain, &key, &target).await
}

/// Obtain a token and call the engine; once more with a new token if a
/// cached one is refused with 401.
#[instrument(skip_all, fields(org = %org, domain = %domain.name, provider = target.provider.as_str()))]
async fn run(
    state: &PlatformState,
    org: &OrgId,
    domain: &Domain,
    key: &ProviderKey,
    target: &Target,
) -> Response {
    let name = domain.name.as_str();
    let provider = target.provider;
    let with_provider = |mut extra: Map<String, Value>| {
        extra.insert("provider".into(), provider.as_str().into());
        extra
    };
    let mut reuse = true;
    loop {
        let token = match token::obtain(state, org, &domain.credential, key, reuse).await {
            Ok(t) => t,
            Err(failure) => return token_failure(failure, provider, name),
        };
        let cached = token.cached;
        let response = match call(state, &target.url, &token).await {
            Ok(r) => r,
            Err(reason) => {
                tracing::warn!(reason = %reason, "the NLU engine is unavailable");
                return refusal(
                    StatusCode::BAD_GATEWAY,
                    "nlu_unavailable",
                    format!("{} at {} {reason}", provider.label(), target.url),
                    name,
                    with_provider(Map::new()),
                );
            }
        };
        let (status, body) = response;
        if status.is_success() {
            let trained = body
                .get("status")
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| {
                    if body.get("done") == Some(&Value::Bool(true)) {
                        "trained".into()
                    } else {
                        "training".into()
                    }
                });
            tracing::info!(status = %trained, "domain training started");
            let mut answer = Map::new();
            answer.insert("domain".into(), name.into());
            answer.insert("provider".into(), provider.as_str().into());
            answer.insert("status".into(), trained.into());
            answer.insert(target.model.0.into(), target.model.1.clone().into());
            return (StatusCode::OK, Json(Value::Object(answer))).into_response();
        }
        if status == StatusCode::UNAUTHORIZED {
            token::forget(state, org, &domain.credential);
            if cached {
                reuse = false;
                continue;
            }
        }
        let code = engine_error(&body);
        tracing::warn!(status = status.as_u16(), error = %code, "the NLU engine refused the training");
        if status.is_server_error() {
            return refusal(
                StatusCode::BAD_GATEWAY,
                "nlu_unavailable",
                format!(
                    "{} answered {} to the training of domain {name:?}",
                    provider.label(),
                    status.as_u16()
                ),
                name,
                with_provider(Map::new()),
            );
        }
        let description = body
            .get("error_description")
            .and_then(Value::as_str)
            .or_else(|| body.pointer("/error/message").and_then(Value::as_str))
            .map(|d| format!(": {}", token::tidy(d, &token.value)))
            .unwrap_or_default();
        let mut extra = Map::new();
        extra.insert("nlu_status".into(), status.as_u16().into());
        extra.insert("nlu_error".into(), code.clone().into());
        return refusal(
            StatusCode::BAD_GATEWAY,
            "nlu_refused",
            format!(
                "{} refused to train domain {name:?} with credential {:?} ({} {code}){description}",
                provider.label(),
                domain.credential,
                status.as_u16()
            ),
            name,
            with_provider(extra),
        );
    }
}

/// The engine's error code: RFC 6750 `error`, or Google's `error.status`.
fn engine_error(body: &Value) -> String {
    match body.get("error") {
        Some(Value::String(code)) => code.clone(),
        Some(Value::Object(e)) => e
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("error")
            .to_string(),
        _ => "unknown".into(),
    }
}

/// `POST url` with the token; the status and the JSON body (`Null` if none).
async fn call(
    state: &PlatformState,
    url: &str,
    token: &NluToken,
) -> Result<(StatusCode, Value), String> {
    let response = state
        .api_http
        .post(url)
        .bearer_auth(token.value.expose())
        .json(&json!({}))
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "did not answer in time".to_string()
            } else {
                "could not be reached".to_string()
            }
        })?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|_| "gave an answer that could not be read".to_string())?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

fn token_failure(failure: TokenFailure, provider: Provider, domain: &str) -> Response {
    let what = match provider {
        Provider::GoogleDialogflow => "the service account's assertion",
        Provider::IbmWatson => "the API key",
    };
    let mut extra = Map::new();
    extra.insert("provider".into(), provider.as_str().into());
    match failure {
        TokenFailure::Token {
            endpoint,
            error:
                TokenError::Refused {
                    status,
                    code,
                    description,
                },
        } => {
            tracing::warn!(status, error = %code, "the token endpoint refused the NLU credential");
            let description = description.map(|d| format!(": {d}")).unwrap_or_default();
            extra.insert("token_error".into(), code.clone().into());
            refusal(
                StatusCode::BAD_GATEWAY,
                "token_refused",
                format!(
                    "the token endpoint {endpoint} refused {what} ({status} {code}){description}"
                ),
                domain,
                extra,
            )
        }
        TokenFailure::Token { endpoint, error } => {
            tracing::warn!(error = %error, "the token endpoint is unavailable");
            refusal(
                StatusCode::BAD_GATEWAY,
                "token_unavailable",
                format!(
                    "no token for {}: the token endpoint {endpoint}: {error}",
                    provider.label()
                ),
                domain,
                extra,
            )
        }
        TokenFailure::Signing(reason) => refusal(
            StatusCode::CONFLICT,
            "domain_misconfigured",
            format!("domain {domain:?} cannot be trained: {reason}"),
            domain,
            extra,
        ),
    }
}
