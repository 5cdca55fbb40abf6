//! The request log: every API request with which credentials (the
//! Authorization scheme, a token by id, a Basic user by name, a client
//! certificate by subject; never a token or password itself), which
//! consumer and client, and how it ended. Scenarios read it to assert which
//! token a platform presented for which conversation, and how.
//!
//! `/admin` requests are not logged.

use std::collections::VecDeque;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use axum::http::HeaderMap;

use super::auth::{Caller, authorization};
use super::error::ErrorCode;
use super::state::BrandApiState;
use crate::clock::Instant;
use crate::tls::PeerCertificates;
use crate::wire::ClientId;
use crate::wire::token_id;

/// Entries kept; the oldest go first.
pub const LOG_CAPACITY: usize = 100_000;

/// One logged request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLogEntry {
    /// When it arrived, on the shared clock (Unix seconds in JSON).
    pub at: Instant,
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// [`crate::idp::token_id`] of the token, if one was sent: a Bearer
    /// token, or a static token under another scheme. Not for Basic.
    pub token_id: Option<String>,
    /// The Authorization scheme as sent (`Bearer`, `Basic`, `Token`, ...).
    #[serde(default)]
    pub scheme: Option<String>,
    /// The user name of HTTP Basic credentials (the password is not kept).
    #[serde(default)]
    pub basic_user: Option<String>,
    /// The subject DN (RFC 4514) of the TLS client certificate presented.
    #[serde(default)]
    pub client_cert: Option<String>,
    /// From a token whose signature verified (even if refused later).
    pub sub: Option<String>,
    pub client_id: Option<ClientId>,
    pub status: u16,
    /// The `error` code of the answer (`invalid_token`,
    /// `insufficient_scope`, `not_found`, `injected_fault`, ...).
    pub error: Option<String>,
}

/// The log itself: at most [`LOG_CAPACITY`] entries of type `E` (the
/// mock NLU service keeps its own kind, [`crate::nlu::NluRequest`]).
#[derive(Debug)]
pub struct RequestLog<E = RequestLogEntry> {
    entries: VecDeque<E>,
}

impl<E> Default for RequestLog<E> {
    fn default() -> Self {
        Self {
            entries: VecDeque::new(),
        }
    }
}

impl<E: Clone> RequestLog<E> {
    pub fn push(&mut self, entry: E) {
        if self.entries.len() >= LOG_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub fn entries(&self) -> Vec<E> {
        self.entries.iter().cloned().collect()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

impl BrandApiState {
    /// Every logged request, oldest first.
    pub fn requests(&self) -> Vec<RequestLogEntry> {
        self.log().entries()
    }

    pub fn clear_requests(&self) {
        self.log().clear();
    }
}

/// What the log keeps of the Authorization header: the scheme, the token's
/// id (not for Basic), the Basic user name.
struct Presented {
    scheme: Option<String>,
    token_id: Option<String>,
    basic_user: Option<String>,
}

fn presented(headers: &HeaderMap) -> Presented {
    let Ok(Some((scheme, credentials))) = authorization(headers) else {
        return Presented {
            scheme: None,
            token_id: None,
            basic_user: None,
        };
    };
    let basic = scheme.eq_ignore_ascii_case(super::basic::SCHEME);
    Presented {
        scheme: Some(scheme.to_string()),
        token_id: (!basic && !credentials.is_empty()).then(|| token_id(credentials)),
        basic_user: basic
            .then(|| super::basic::decode(credentials).map(|(user, _)| user))
            .flatten(),
    }
}

/// Middleware: log the request once its response is known.
pub async fn record(State(state): State<BrandApiState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if path == "/admin" || path.starts_with("/admin/") {
        return next.run(request).await;
    }
    let at = state.trust().now();
    let method = request.method().to_string();
    let sent = presented(request.headers());
    let client_cert = request
        .extensions()
        .get::<PeerCertificates>()
        .and_then(PeerCertificates::subject);
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
        token_id: sent.token_id,
        scheme: sent.scheme,
        basic_user: sent.basic_user,
        client_cert,
        sub: caller.sub,
        client_id: caller.client_id,
        status: response.status().as_u16(),
        error,
    });
    response
}
