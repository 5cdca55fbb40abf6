//! The request log: every request with which token (by id, never by
//! value), which subject and grant, which engine and project or workspace,
//! and how it ended. Tests read it to check who trained what.
//!
//! `/admin` requests are not logged.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::state::NluState;
use crate::brand_api::auth::bearer_token;
use crate::wire::token_id;

pub use crate::brand_api::log::LOG_CAPACITY;
use crate::clock::Instant;

/// Which engine an endpoint imitates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    Dialogflow,
    Watson,
}

/// What a handler tells the log about its request (a response extension).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub engine: Option<Engine>,
    /// The Dialogflow project or Watson workspace named by the path.
    pub target: Option<String>,
    pub sub: Option<String>,
    pub grant_type: Option<String>,
    pub error: Option<String>,
}

impl Outcome {
    /// A request to `engine` about `target`, nothing known of the caller yet.
    pub fn new(engine: Engine, target: &str) -> Self {
        Outcome {
            engine: Some(engine),
            target: Some(target.to_string()),
            ..Outcome::default()
        }
    }
}

/// One logged request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NluRequest {
    /// When it arrived, on the shared clock (Unix seconds in JSON).
    pub at: Instant,
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    pub engine: Option<Engine>,
    /// The Dialogflow project or Watson workspace named by the path.
    pub target: Option<String>,
    /// [`crate::idp::token_id`] of the bearer token, if one was sent.
    pub token_id: Option<String>,
    /// From a token whose signature verified (even if refused later).
    pub sub: Option<String>,
    /// The token's `grant_type` claim, from a token whose signature verified.
    pub grant_type: Option<String>,
    pub status: u16,
    /// The `error` code of the answer (`invalid_token`, `insufficient_scope`, ...).
    pub error: Option<String>,
}

/// The log itself, bounded as the brand API's.
pub type RequestLog = crate::brand_api::log::RequestLog<NluRequest>;

impl NluState {
    /// Every logged request, oldest first.
    pub fn requests(&self) -> Vec<NluRequest> {
        self.log().entries()
    }

    pub fn clear_requests(&self) {
        self.log().clear();
    }
}

/// Middleware: log the request once its response is known.
pub async fn record(State(state): State<NluState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if path == "/admin" || path.starts_with("/admin/") {
        return next.run(request).await;
    }
    let at = state.trust().now();
    let method = request.method().to_string();
    let token = bearer_token(request.headers()).ok().map(token_id);
    let response = next.run(request).await;
    let outcome = response
        .extensions()
        .get::<Outcome>()
        .cloned()
        .unwrap_or_default();
    state.log().push(NluRequest {
        at,
        method,
        path,
        engine: outcome.engine,
        target: outcome.target,
        token_id: token,
        sub: outcome.sub,
        grant_type: outcome.grant_type,
        status: response.status().as_u16(),
        error: outcome.error,
    });
    response
}
