//! Fault injection: make the next responses of an endpoint fail, stall or
//! carry malformed JSON, and make the next ID tokens defective. This is how
//! scenarios prove that a platform (or a conformance suite) notices a broken
//! IdP.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::state::IdpState;

/// The most faults (or defects) one request may queue: enough for any
/// scenario, small enough that a typo cannot exhaust memory.
pub const MAX_FAULT_COUNT: usize = 10_000;

/// Refuse a count above [`MAX_FAULT_COUNT`].
pub fn check_count(count: usize) -> Result<(), String> {
    if count > MAX_FAULT_COUNT {
        Err(format!("count above {MAX_FAULT_COUNT} is refused"))
    } else {
        Ok(())
    }
}

/// The endpoints a fault can be queued for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Discovery,
    Jwks,
    Authorize,
    Login,
    Consent,
    Token,
    Userinfo,
    Introspect,
    Revoke,
}

impl std::str::FromStr for Endpoint {
    type Err = String;

    /// The endpoint by its name in the admin API (`token`, `jwks`, ...).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.to_ascii_lowercase()))
            .map_err(|_| format!("unknown endpoint {s:?}"))
    }
}

/// What the faulty response is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Answer with this status and body instead of the real response.
    Status {
        status: u16,
        #[serde(default)]
        body: String,
        #[serde(default = "json_type")]
        content_type: String,
    },
    /// Wait, then give the real response.
    Delay { delay_ms: u64 },
    /// A 200 whose body claims to be JSON and is not.
    MalformedJson,
}

fn json_type() -> String {
    "application/json".into()
}

impl Fault {
    /// Refuse faults that cannot be sent as HTTP.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Fault::Status {
                status,
                content_type,
                ..
            } => {
                if !(100..=599).contains(status) {
                    return Err(format!(
                        "status {status} is not an HTTP status (100 to 599)"
                    ));
                }
                if HeaderValue::from_str(content_type).is_err() {
                    return Err("content_type is not a valid header value".into());
                }
                Ok(())
            }
            Fault::Delay { delay_ms } if *delay_ms > 120_000 => {
                Err("delay_ms above 120000 (two minutes) is refused".into())
            }
            _ => Ok(()),
        }
    }
}

/// Defects the next ID token can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdTokenDefect {
    WrongIss,
    WrongAud,
    WrongNonce,
    Expired,
    BadSignature,
    /// `iat` ten minutes in the future (a wrong clock at the IdP).
    FutureIat,
}

impl std::str::FromStr for IdTokenDefect {
    type Err = String;

    /// `wrong_iss`, `wrong iss` or `wrong-iss`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.replace([' ', '-'], "_")))
            .map_err(|_| format!("unknown ID token defect {s:?}"))
    }
}

/// Queued faults and defects.
#[derive(Debug, Default)]
pub struct Faults {
    queues: HashMap<Endpoint, VecDeque<Fault>>,
    id_token: VecDeque<IdTokenDefect>,
}

impl Faults {
    pub fn push(&mut self, endpoint: Endpoint, fault: Fault, count: usize) {
        let queue = self.queues.entry(endpoint).or_default();
        queue.extend(std::iter::repeat_n(fault, count));
    }

    pub fn take(&mut self, endpoint: Endpoint) -> Option<Fault> {
        self.queues.get_mut(&endpoint)?.pop_front()
    }

    /// How many faults are still queued for `endpoint`.
    pub fn pending(&self, endpoint: Endpoint) -> usize {
        self.queues.get(&endpoint).map_or(0, VecDeque::len)
    }

    pub fn push_defect(&mut self, defect: IdTokenDefect, count: usize) {
        self.id_token.extend(std::iter::repeat_n(defect, count));
    }

    pub fn take_defect(&mut self) -> Option<IdTokenDefect> {
        self.id_token.pop_front()
    }

    pub fn clear(&mut self) {
        self.queues.clear();
        self.id_token.clear();
    }
}

/// Middleware: if a fault is queued for `endpoint`, apply it.
pub async fn inject(
    State((state, endpoint)): State<(IdpState, Endpoint)>,
    request: Request,
    next: Next,
) -> Response {
    let fault = state.faults().take(endpoint);
    apply(
        fault,
        "{\"access_token\": \"truncated, \"token_type\":",
        request,
        next,
    )
    .await
    .0
}

/// Apply a fault taken from a queue: stall then answer, or answer in the
/// handler's place (`malformed` is the broken JSON to send for
/// [`Fault::MalformedJson`]). The flag says whether the response was
/// replaced. Shared by every brand-side server that injects faults.
pub async fn apply(
    fault: Option<Fault>,
    malformed: &'static str,
    request: Request,
    next: Next,
) -> (Response, bool) {
    match fault {
        None => (next.run(request).await, false),
        Some(Fault::Delay { delay_ms }) => {
            // A deliberate stall of the response (a slow server), not an expiry wait.
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            (next.run(request).await, false)
        }
        Some(Fault::Status {
            status,
            body,
            content_type,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut response = (status, body).into_response();
            if let Ok(v) = HeaderValue::from_str(&content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            (response, true)
        }
        Some(Fault::MalformedJson) => {
            let mut response = (StatusCode::OK, malformed).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            (response, true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_served_in_order_then_stop() {
        let mut f = Faults::default();
        f.push(Endpoint::Token, Fault::MalformedJson, 2);
        f.push(Endpoint::Token, Fault::Delay { delay_ms: 5 }, 1);
        assert_eq!(f.take(Endpoint::Token), Some(Fault::MalformedJson));
        assert_eq!(f.take(Endpoint::Token), Some(Fault::MalformedJson));
        assert_eq!(f.take(Endpoint::Token), Some(Fault::Delay { delay_ms: 5 }));
        assert_eq!(f.take(Endpoint::Token), None);
        assert_eq!(f.take(Endpoint::Jwks), None);
    }

    #[test]
    fn impossible_statuses_are_refused() {
        let bad = Fault::Status {
            status: 42,
            body: String::new(),
            content_type: json_type(),
        };
        assert!(bad.validate().is_err());
        let ok = Fault::Status {
            status: 503,
            body: String::new(),
            content_type: json_type(),
        };
        assert!(ok.validate().is_ok());
    }
}
