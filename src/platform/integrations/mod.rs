//! API integrations: a dialog's outbound call to the brand API, with its
//! credential applied, and what each answer means for the conversation.
//!
//! - 2xx: the answer is rendered from the JSON response.
//! - 401 (`invalid_token`, or a bare challenge): the token is dropped from
//!   the conversation and the consumer is challenged again.
//! - 403 (`insufficient_scope`): reported; the token is kept and nothing is
//!   retried (no loop).
//! - 5xx or unreachable: reported; the token is kept.

pub mod apply;
pub mod template;

use std::collections::BTreeMap;

use serde_json::Value;
use tracing::instrument;
use url::Url;

use super::PlatformState;
use super::bots::{AnswerTemplate, Dialog};
use super::conversations::{ConvInfo, Reply, TokenCheck};
use super::credentials::mutual_authentication::verify::{self, Refusal};
use super::credentials::{ConsumerAuth, Credential, Kind};
use super::events::{EventKind, RechallengeReason};
use template::{TemplateError, Vars};

pub use super::bots::{IntegrationConfig, Method};

/// An integration call with its templates expanded, waiting for a token
/// if need be. Holds no secret.
#[derive(Clone, Debug)]
pub struct PreparedCall {
    pub integration: String,
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    pub credential: Option<String>,
    pub answer: AnswerTemplate,
    pub vars: Vars,
}

/// Why a call could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("{0}")]
    Template(#[from] TemplateError),
    #[error("the integration URL is not a valid absolute URL")]
    Url,
}

/// Expand a dialog's integration with the trigger's captures.
pub fn prepare(
    dialog: &Dialog,
    captures: BTreeMap<String, String>,
    conv: &ConvInfo,
) -> Result<PreparedCall, PrepareError> {
    let mut vars = captures;
    vars.insert("idempotency_key".into(), crate::secret::random_token(16));
    vars.insert("conversation_id".into(), conv.id.to_string());
    if let Some(c) = &conv.consumer_id {
        vars.insert("consumer_id".into(), c.clone());
    }
    let i = &dialog.integration;
    let url = Url::parse(&template::expand_url(&i.url, &vars)?).map_err(|_| PrepareError::Url)?;
    let headers = i
        .headers
        .iter()
        .map(|(k, v)| Ok((k.clone(), template::expand_text(v, &vars)?)))
        .collect::<Result<_, TemplateError>>()?;
    let body = i
        .body
        .as_ref()
        .map(|b| template::expand_json(b, &vars))
        .transpose()?;
    Ok(PreparedCall {
        integration: i.name.clone(),
        method: i.method,
        url,
        headers,
        body,
        credential: i.credential.clone(),
        answer: dialog.answer.clone(),
        vars,
    })
}

/// What the brand API's answer means.
#[derive(Debug)]
pub enum Outcome {
    Success {
        status: u16,
        body: Value,
    },
    /// 401 with `invalid_token` or a bare challenge (RFC 6750 3.1).
    InvalidToken,
    /// 403 `insufficient_scope`, with the scope the API named.
    Forbidden {
        scope: Option<String>,
    },
    ServerError {
        status: u16,
    },
    ClientError {
        status: u16,
        error: Option<String>,
    },
    /// No answer. `tls` says why a mutual TLS connection failed (the
    /// server's certificate not trusted, our client certificate refused,
    /// ...), when that is why.
    Unreachable {
        tls: Option<Refusal>,
    },
    /// A 2xx whose body is not JSON.
    NotJson {
        status: u16,
    },
}

impl Outcome {
    fn status(&self) -> Option<u16> {
        match self {
            Outcome::Success { status, .. }
            | Outcome::ServerError { status }
            | Outcome::ClientError { status, .. }
            | Outcome::NotJson { status } => Some(*status),
            Outcome::InvalidToken => Some(401),
            Outcome::Forbidden { .. } => Some(403),
            Outcome::Unreachable { .. } => None,
        }
    }
}

/// The `key="value"` parameters of a `WWW-Authenticate: Bearer` challenge.
fn bearer_params(header: Option<&str>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(h) = header else { return out };
    let rest = h.trim();
    let rest = rest
        .strip_prefix("Bearer")
        .or_else(|| rest.strip_prefix("bearer"))
        .unwrap_or(rest);
    for part in rest.split(',') {
        if let Some((k, v)) = part.trim().split_once('=') {
            out.insert(k.trim().to_string(), v.trim().trim_matches('"').to_string());
        }
    }
    out
}

pub use crate::platform::credentials::auth::{Auth, TlsIdentity};

/// Call the brand API with `auth` applied.
#[instrument(skip_all, fields(integration = %call.integration))]
pub async fn call_api(http: &reqwest::Client, call: &PreparedCall, auth: &Auth) -> Outcome {
    let http = auth.client.as_ref().unwrap_or(http);
    let mut request = http.request(call.method.to_reqwest(), call.url.clone());
    for (k, v) in &call.headers {
        request = request.header(k, v);
    }
    if let Some(body) = &call.body {
        request = request.json(body);
    }
    if let Some(value) = &auth.authorization {
        match reqwest::header::HeaderValue::from_str(value.expose()) {
            Ok(mut v) => {
                v.set_sensitive(true);
                request = request.header(reqwest::header::AUTHORIZATION, v);
            }
            Err(_) => return Outcome::Unreachable { tls: None },
        }
    }
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            let tls = auth.identity.as_ref().and_then(|id| {
                verify::explain(
                    &e,
                    &id.subject,
                    &id.versions,
                    !e.is_connect() && !e.is_timeout(),
                )
            });
            match &tls {
                Some(refusal) => {
                    tracing::warn!(code = refusal.code, reason = %refusal, "brand API: TLS connection refused")
                }
                None => tracing::warn!(error = %e.without_url(), "brand API unreachable"),
            }
            return Outcome::Unreachable { tls };
        }
    };
    let status = response.status().as_u16();
    let challenge = bearer_params(
        response
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok()),
    );
    match status {
        200..=299 => {
            let bytes = response.bytes().await.unwrap_or_default();
            if bytes.is_empty() {
                return Outcome::Success {
                    status,
                    body: Value::Null,
                };
            }
            match serde_json::from_slice(&bytes) {
                Ok(body) => Outcome::Success { status, body },
                Err(_) => Outcome::NotJson { status },
            }
        }
        401 => match challenge.get("error").map(String::as_str) {
            None | Some("invalid_token") => Outcome::InvalidToken,
            Some(other) => Outcome::ClientError {
                status,
                error: Some(other.to_string()),
            },
        },
        403 => Outcome::Forbidden {
            scope: challenge.get("scope").cloned(),
        },
        500..=599 => Outcome::ServerError { status },
        _ => Outcome::ClientError {
            status,
            error: challenge.get("error").cloned(),
        },
    }
}

/// Render the answer of a successful call.
pub fn render(call: &PreparedCall, body: &Value) -> String {
    let a = &call.answer;
    let list = a.list.as_deref().map(|ptr| {
        let items = body.pointer(ptr).and_then(Value::as_array);
        match items {
            Some(items) if !items.is_empty() => items
                .iter()
                .map(|item| {
                    template::render_answer(
                        a.item.as_deref().unwrap_or("{.}"),
                        item,
                        &call.vars,
                        None,
                    )
                })
                .collect::<Vec<_>>()
                .join(&a.separator),
            _ => a.empty.clone(),
        }
    });
    template::render_answer(&a.text, body, &call.vars, list.as_deref())
}

/// What an integration's turn comes to: an answer for the conversation,
/// or the consumer must sign in first (no token, an expired one, or one the
/// API refused) for the waiting call: the delegation flow
/// ([`crate::platform::delegation::reply`]) then sends the link. So the
/// integrations never import the delegation, which runs them.
pub enum Turn {
    Reply(Reply),
    SignIn(Box<SignIn>),
}

/// The sign-in a call waits for.
pub struct SignIn {
    /// The Consumer Authentication credential's name.
    pub credential: String,
    pub consumer_auth: ConsumerAuth,
    pub call: PreparedCall,
    pub reason: Option<RechallengeReason>,
}

impl From<Reply> for Turn {
    fn from(r: Reply) -> Self {
        Turn::Reply(r)
    }
}

/// A dialog matched in a conversation: prepare its call, then run it with
/// the conversation's token, or challenge the consumer for one.
pub async fn start(
    state: &PlatformState,
    conv: &ConvInfo,
    dialog: &Dialog,
    captures: BTreeMap<String, String>,
) -> Turn {
    let call = match prepare(dialog, captures, conv) {
        Ok(c) => c,
        Err(e) => return Reply::text(format!("I could not prepare that request: {e}.")).into(),
    };
    let Some(name) = call.credential.clone() else {
        return execute(state, conv, call, Auth::none()).await;
    };
    let Some(credential) = state.vault.get(&conv.org, &name) else {
        return Reply::text(format!(
            "I cannot do that here: this organisation has no credential named {name:?}."
        ))
        .into();
    };
    let now = state.clock.now();
    let Kind::ConsumerAuthentication(consumer_auth) = &credential.kind else {
        return match apply::authorize(state, conv, &credential).await {
            Ok(auth) => {
                state.conversations.event(
                    &conv.id,
                    now,
                    EventKind::CredentialApplied {
                        credential: name,
                        credential_type: credential.kind.type_name().into(),
                    },
                );
                execute(state, conv, call, auth).await
            }
            Err(reason) => {
                state.conversations.event(
                    &conv.id,
                    now,
                    EventKind::CredentialUnavailable {
                        credential: name,
                        reason: reason.clone(),
                    },
                );
                Reply::text(format!("I could not do that: {reason}.")).into()
            }
        };
    };
    match state.conversations.token(&conv.id, now) {
        TokenCheck::Valid(token) => execute(state, conv, call, Auth::bearer(&token)).await,
        TokenCheck::Expired => {
            state
                .conversations
                .event(&conv.id, now, EventKind::TokenExpired);
            Turn::SignIn(Box::new(SignIn {
                credential: name,
                consumer_auth: consumer_auth.clone(),
                call,
                reason: Some(RechallengeReason::Expired),
            }))
        }
        TokenCheck::Absent => Turn::SignIn(Box::new(SignIn {
            credential: name,
            consumer_auth: consumer_auth.clone(),
            call,
            reason: None,
        })),
    }
}

/// Run a prepared call (with the conversation's token when it has a
/// Consumer Authentication credential) and turn the outcome into a reply.
#[instrument(skip_all, fields(conversation = %conv.id, integration = %call.integration))]
pub async fn execute(
    state: &PlatformState,
    conv: &ConvInfo,
    call: PreparedCall,
    auth: Auth,
) -> Turn {
    let outcome = call_api(&state.api_http, &call, &auth).await;
    drop(auth);
    let now = state.clock.now();
    let events = &state.conversations;
    if let Some(status) = outcome.status() {
        events.event(
            &conv.id,
            now,
            EventKind::IntegrationCalled {
                integration: call.integration.clone(),
                status,
                method: call.method.to_reqwest().to_string(),
                url: crate::platform::oauth::outbound::endpoint(call.url.as_str()),
            },
        );
    }
    let api_error = |status: Option<u16>, detail: &str| {
        events.event(
            &conv.id,
            now,
            EventKind::ApiError {
                status,
                detail: detail.to_string(),
            },
        );
    };
    Turn::Reply(match outcome {
        Outcome::Success { body, .. } => {
            events.event(&conv.id, now, EventKind::AnswerPosted);
            Reply::text(render(&call, &body))
        }
        Outcome::InvalidToken => {
            api_error(Some(401), "invalid_token");
            events.drop_token(&conv.id);
            let credential = call
                .credential
                .as_deref()
                .and_then(|name| state.vault.get(&conv.org, name));
            match credential {
                Some(Credential {
                    name,
                    kind: Kind::ConsumerAuthentication(c),
                    ..
                }) => {
                    return Turn::SignIn(Box::new(SignIn {
                        credential: name,
                        consumer_auth: c,
                        call,
                        reason: Some(RechallengeReason::InvalidToken),
                    }));
                }
                Some(other) => {
                    apply::unauthorized(state, conv, &other);
                    Reply::text(format!(
                        "The brand API refused the credential {:?} as unauthorised (HTTP 401).",
                        other.name
                    ))
                }
                None => Reply::text(
                    "The brand API refused the request as unauthorised, and this integration has no sign-in to offer.",
                ),
            }
        }
        Outcome::Forbidden { scope } => {
            api_error(Some(403), "insufficient_scope");
            Reply::text(match scope {
                Some(scope) => format!(
                    "The brand API refused this: your sign-in does not allow it (it needs the scope {scope})."
                ),
                None => "The brand API refused this: your sign-in does not allow it.".to_string(),
            })
        }
        Outcome::ServerError { status } => {
            api_error(Some(status), "server_error");
            Reply::text(format!(
                "The brand's service is not available right now (HTTP {status}). Please try again in a moment."
            ))
        }
        Outcome::Unreachable { tls: None } => {
            api_error(None, "unreachable");
            Reply::text("I could not reach the brand's service. Please try again in a moment.")
        }
        Outcome::Unreachable { tls: Some(refusal) } => {
            api_error(None, refusal.code);
            Reply::text(format!(
                "I could not reach the brand's service over mutual TLS: {}.",
                refusal.message
            ))
        }
        Outcome::NotJson { status } => {
            api_error(Some(status), "response_not_json");
            Reply::text("The brand's service answered, but not in a form I understand.")
        }
        Outcome::ClientError { status, error } => {
            let detail = error.unwrap_or_else(|| "client_error".into());
            api_error(Some(status), &detail);
            Reply::text(format!(
                "The brand's service could not do that (HTTP {status}, {detail})."
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_parse() {
        let p = bearer_params(Some(
            r#"Bearer realm="brand", error="insufficient_scope", scope="orders:read""#,
        ));
        assert_eq!(p["error"], "insufficient_scope");
        assert_eq!(p["scope"], "orders:read");
        assert!(bearer_params(Some("Bearer")).is_empty());
        assert!(bearer_params(None).is_empty());
    }
}
