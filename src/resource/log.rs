//! The request log: every API request with which token (by id, never by
//! value), which consumer and client, and how it ended. Scenarios read it to
//! assert which token a platform presented for which conversation.
//!
//! `/admin` requests are not logged.

use std::collections::VecDeque;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::auth::{Caller, bearer_token};
use super::error::ErrorCode;
use super::state::ResourceState;
use crate::idp::token_id;

/// Entries kept; the oldest go first.
pub const LOG_CAPACITY: usize = 100_000;

/// One logged request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLogEntry {
    /// When it arrived, Unix seconds on the shared clock.
    pub at: i64,
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// [`crate::idp::token_id`] of the bearer token, if one was sent.
    pub token_id: Option<String>,
    /// From a token whose signature verified (even if refused later).
    pub sub: Option<String>,
    pub client_id: Option<String>,
    pub status: u16,
    /// The `error` code of the answer (`invalid_token`,
    /// `insufficient_scope`, `not_found`, `injected_fault`, ...).
    pub error: Option<String>,
}

/// The log itself.
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: VecDeque<RequestLogEntry>,
}

impl RequestLog {
    pub fn push(&mut self, entry: RequestLogEntry) {
        if self.entries.len() >= LOG_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub fn entries(&self) -> Vec<RequestLogEntry> {
        self.entries.iter().cloned().collect()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

impl ResourceState {
    /// Every logged request, oldest first.
    pub fn requests(&self) -> Vec<RequestLogEntry> {
        self.log().entries()
    }

    pub fn clear_requests(&self) {
        self.log().clear();
    }
}

/// Middleware: log the request once its response is known.
pub async fn record(State(state): State<ResourceState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if path == "/admin" || path.starts_with("/admin/") {
        return next.run(request).await;
    }
    let at = state.now();
    let method = request.method().to_string();
    let token = bearer_token(request.headers()).ok().map(token_id);
    let response = next.run(request).await;
    let caller = response
        .extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or_default();
    let error = response
        .extensions()
        .get::<ErrorCode>()
        .map(|e| e.0.clone());
    state.log().push(RequestLogEntry {
        at,
        method,
        path,
        token_id: token,
        sub: caller.sub,
        client_id: caller.client_id,
        status: response.status().as_u16(),
        error,
    });
    response
}
