//! The platform's log of its own outbound OAuth requests: every token
//! request (any grant) and every revocation, with its endpoint, grant type,
//! client authentication method, outcome, the departures from the standard
//! its answer was tolerated with, and duration. Never a secret, a
//! code or a token: the entries are built from names and numbers only.
//!
//! `GET /api/oauth/requests` reads it, so a scenario can assert what the
//! platform did (it never sent `grant_type=refresh_token` in an
//! unauthenticated conversation, it authenticated with
//! `client_secret_post`) without asking the IdP, which a real IdP cannot
//! answer. The newest [`CAPACITY`] entries are kept.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::{Value, json};

use crate::clock::Instant;
use crate::platform::PlatformState;

/// How many entries are kept (the oldest go first).
pub const CAPACITY: usize = 1000;

/// One outbound request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutboundRequest {
    /// When it was sent, on the shared clock.
    pub at: Instant,
    /// `token` or `revocation`.
    pub kind: &'static str,
    /// The endpoint, without query.
    pub endpoint: String,
    /// The `grant_type` of a token request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<&'static str>,
    /// `client_secret_basic` or `client_secret_post`.
    pub client_auth: &'static str,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// `ok`, an RFC 6749 5.2 error code, or what went wrong
    /// (`unreachable`, `not_json`, ...).
    pub outcome: String,
    /// The codes of the departures from the standard the answer was
    /// tolerated with ([`super::token_response::Departure`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub departures: Vec<&'static str>,
    /// Which tokens a successful token response carried
    /// (`access_token`, `refresh_token`, `id_token`): names, never values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub returned: Vec<&'static str>,
    /// The lifetime it gave (`expires_in`, seconds), when usable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    pub duration_ms: u64,
}

/// The log. Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct OutboundLog {
    inner: Arc<Mutex<VecDeque<OutboundRequest>>>,
}

impl OutboundLog {
    pub fn record(&self, entry: OutboundRequest) {
        let mut log = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() == CAPACITY {
            log.pop_front();
        }
        log.push_back(entry);
    }

    /// Every entry kept, oldest first.
    pub fn entries(&self) -> Vec<OutboundRequest> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

/// An endpoint as logged: scheme, host, port and path.
pub fn endpoint(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => "(not a URL)".into(),
    }
}

/// `GET /api/oauth/requests`.
pub async fn handler(State(state): State<PlatformState>) -> Json<Value> {
    Json(json!({ "requests": state.oauth_log.entries() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_the_newest_entries() {
        let log = OutboundLog::default();
        for i in 0..(CAPACITY + 5) {
            log.record(OutboundRequest {
                at: Instant::from_unix_secs(i as i64),
                kind: "token",
                endpoint: endpoint("https://user:pw@idp.example/token?x=1#f"),
                grant_type: Some("authorization_code"),
                client_auth: "client_secret_basic",
                status: Some(200),
                outcome: "ok".into(),
                departures: vec![],
                returned: vec!["access_token"],
                expires_in: Some(300),
                duration_ms: 1,
            });
        }
        let entries = log.entries();
        assert_eq!(entries.len(), CAPACITY);
        assert_eq!(entries[0].at, Instant::from_unix_secs(5));
        assert_eq!(entries[0].endpoint, "https://idp.example/token");
    }
}
