//! The mock IdP's control surface, behind one trait.
//!
//! A conformance scenario reaches the IdP's protocol endpoints over HTTP
//! only. A few scenarios also need to act on the IdP from the side: move its
//! clock, make an endpoint fail, spoil the next ID token, look at the grants
//! it keeps. Those go through [`IdpControl`] and carry the `@control` tag, so
//! a run against a brand's real IdP (which has no such surface) skips them, or
//! supplies its own implementation.
//!
//! [`AdminApi`] implements the trait over standin's admin HTTP API, so it
//! drives an embedded [`MockIdp`](crate::idp::MockIdp) and a separately
//! running `standin idp` alike.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

pub use crate::idp::admin::{
    AccessView, CodeState, CodeView, Grants, NewUser, RefreshView, StoreView, TokenState,
};
pub use crate::idp::fixtures::TokenFormat;
pub use crate::idp::state::Grant;
pub use crate::idp::{Endpoint, Fault, IdTokenDefect, SigningAlg};
use crate::secret::Secret;

/// A boxed future, so [`IdpControl`] can be used as `dyn IdpControl`.
pub type ControlFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ControlError>> + Send + 'a>>;

/// Why a control operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("control request {operation} could not be sent: {source}")]
    Http {
        operation: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("control request {operation} answered {status}: {body}")]
    Status {
        operation: &'static str,
        status: StatusCode,
        body: String,
    },
    #[error("control request {operation} answered something unexpected: {message}")]
    Decode {
        operation: &'static str,
        message: String,
    },
}

/// The operations on an IdP that scenarios need beyond its protocol.
pub trait IdpControl: Send + Sync + fmt::Debug {
    /// Move the IdP's clock forward (expiry without sleeping).
    fn advance_clock(&self, by: Duration) -> ControlFuture<'_, ClockState>;
    /// Read the IdP's clock.
    fn clock(&self) -> ControlFuture<'_, ClockState>;
    /// Make the next `count` requests to `endpoint` fail as `fault` says.
    fn queue_fault(&self, endpoint: Endpoint, fault: Fault, count: u32) -> ControlFuture<'_, ()>;
    /// Forget all queued faults.
    fn clear_faults(&self) -> ControlFuture<'_, ()>;
    /// Spoil the next `count` ID tokens the IdP issues.
    fn queue_id_token_defect(&self, defect: IdTokenDefect, count: u32) -> ControlFuture<'_, ()>;
    /// Every code, access token and refresh token the IdP has issued.
    fn grants(&self) -> ControlFuture<'_, Grants>;
    /// The store's size, ceiling and counters alone, without listing what
    /// it holds.
    fn store(&self) -> ControlFuture<'_, StoreView>;
    /// Register a consumer account.
    fn add_user(&self, user: NewUser) -> ControlFuture<'_, ()>;
    /// Merge claims into a user's claims (`null` removes one); returns the
    /// user as the IdP now holds it (without its password).
    fn patch_user_claims(
        &self,
        username: &str,
        claims: Map<String, Value>,
    ) -> ControlFuture<'_, Value>;
    /// Register a client.
    fn add_client(&self, client: NewClient) -> ControlFuture<'_, ()>;
    /// Add a new active signing key for `alg`; returns its `kid`.
    fn rotate_key(&self, alg: SigningAlg) -> ControlFuture<'_, String>;
    /// Stop publishing a (no longer active) key.
    fn retire_key(&self, kid: &str) -> ControlFuture<'_, ()>;
    /// Back to the fixtures: clients, users, keys, clock, no faults, no
    /// grants, no sessions.
    fn reset(&self) -> ControlFuture<'_, ()>;
}

/// `GET /admin/clock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct ClockState {
    pub now: crate::clock::Instant,
    pub offset_secs: i64,
}

/// `POST /admin/clients`: the fields of a `[[clients]]` fixture entry. Only
/// `id` is required; `fields` carries the rest as the fixtures file names
/// them (`redirect_uris`, `grant_types`, `scopes`, `consent`, ...).
#[derive(Clone, Debug)]
pub struct NewClient {
    pub id: String,
    pub secret: Option<Secret>,
    pub fields: Map<String, Value>,
}

impl NewClient {
    fn to_json(&self) -> Value {
        let mut body = self.fields.clone();
        body.insert("id".into(), Value::String(self.id.clone()));
        if let Some(secret) = &self.secret {
            body.insert("secret".into(), Value::String(secret.expose().to_string()));
        }
        Value::Object(body)
    }
}

/// [`IdpControl`] over standin's admin HTTP API (`{issuer}/admin/...`).
#[derive(Clone)]
pub struct AdminApi {
    base: String,
    token: Option<Secret>,
    http: reqwest::Client,
}

impl fmt::Debug for AdminApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminApi")
            .field("base", &self.base)
            .field("token", &self.token)
            .finish()
    }
}

impl AdminApi {
    /// The admin API of the IdP at `issuer`; `token` is the admin bearer
    /// token, needed only when the IdP does not listen on loopback.
    pub fn new(issuer: &str, token: Option<Secret>) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a plain reqwest client builds");
        Self {
            base: format!("{}/admin", issuer.trim_end_matches('/')),
            token,
            http,
        }
    }

    async fn call(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, String), ControlError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|source| ControlError::Http { operation, source })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|source| ControlError::Http { operation, source })?;
        if !status.is_success() {
            return Err(ControlError::Status {
                operation,
                status,
                body: text,
            });
        }
        Ok((status, text))
    }

    async fn call_json<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, ControlError> {
        let (_, text) = self.call(operation, method, path, body).await?;
        serde_json::from_str(&text).map_err(|e| ControlError::Decode {
            operation,
            message: format!("{e} in {text}"),
        })
    }
}

impl IdpControl for AdminApi {
    fn advance_clock(&self, by: Duration) -> ControlFuture<'_, ClockState> {
        Box::pin(self.call_json(
            "advance clock",
            Method::POST,
            "/clock",
            Some(json!({ "advance_secs": by.as_secs() })),
        ))
    }

    fn clock(&self) -> ControlFuture<'_, ClockState> {
        Box::pin(self.call_json("read clock", Method::GET, "/clock", None))
    }

    fn queue_fault(&self, endpoint: Endpoint, fault: Fault, count: u32) -> ControlFuture<'_, ()> {
        Box::pin(async move {
            let body = json!({ "endpoint": endpoint, "count": count, "fault": fault });
            self.call("queue fault", Method::POST, "/faults", Some(body))
                .await
                .map(drop)
        })
    }

    fn clear_faults(&self) -> ControlFuture<'_, ()> {
        Box::pin(async move {
            self.call("clear faults", Method::DELETE, "/faults", None)
                .await
                .map(drop)
        })
    }

    fn queue_id_token_defect(&self, defect: IdTokenDefect, count: u32) -> ControlFuture<'_, ()> {
        Box::pin(async move {
            let body = json!({ "defect": defect, "count": count });
            self.call(
                "queue ID token defect",
                Method::POST,
                "/id-token-defects",
                Some(body),
            )
            .await
            .map(drop)
        })
    }

    fn grants(&self) -> ControlFuture<'_, Grants> {
        Box::pin(self.call_json("read grants", Method::GET, "/grants", None))
    }

    fn store(&self) -> ControlFuture<'_, StoreView> {
        Box::pin(self.call_json("read the store", Method::GET, "/store", None))
    }

    fn add_user(&self, user: NewUser) -> ControlFuture<'_, ()> {
        Box::pin(async move {
            let body = serde_json::to_value(&user).map_err(|e| ControlError::Decode {
                operation: "add user",
                message: e.to_string(),
            })?;
            self.call("add user", Method::POST, "/users", Some(body))
                .await
                .map(drop)
        })
    }

    fn patch_user_claims(
        &self,
        username: &str,
        claims: Map<String, Value>,
    ) -> ControlFuture<'_, Value> {
        let path = format!("/users/{}", urlencode_segment(username));
        Box::pin(async move {
            self.call_json(
                "patch user claims",
                Method::PATCH,
                &path,
                Some(json!({ "claims": claims })),
            )
            .await
        })
    }

    fn add_client(&self, client: NewClient) -> ControlFuture<'_, ()> {
        Box::pin(async move {
            self.call(
                "add client",
                Method::POST,
                "/clients",
                Some(client.to_json()),
            )
            .await
            .map(drop)
        })
    }

    fn rotate_key(&self, alg: SigningAlg) -> ControlFuture<'_, String> {
        #[derive(Deserialize)]
        struct Rotated {
            kid: String,
        }
        Box::pin(async move {
            let rotated: Rotated = self
                .call_json(
                    "rotate key",
                    Method::POST,
                    "/keys/rotate",
                    Some(json!({ "alg": alg })),
                )
                .await?;
            Ok(rotated.kid)
        })
    }

    fn retire_key(&self, kid: &str) -> ControlFuture<'_, ()> {
        let path = format!("/keys/{}", urlencode_segment(kid));
        Box::pin(async move {
            self.call("retire key", Method::DELETE, &path, None)
                .await
                .map(drop)
        })
    }

    fn reset(&self) -> ControlFuture<'_, ()> {
        Box::pin(async move {
            self.call("reset", Method::POST, "/reset", None)
                .await
                .map(drop)
        })
    }
}

/// Percent-encode one path segment.
fn urlencode_segment(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idp::token_id;

    #[test]
    fn fault_serialises_as_the_contract_says() {
        let fault = Fault::Status {
            status: 503,
            body: String::new(),
            content_type: "application/json".into(),
        };
        assert_eq!(
            serde_json::to_value(&fault).unwrap(),
            json!({"kind": "status", "status": 503, "body": "", "content_type": "application/json"})
        );
        assert_eq!(
            serde_json::to_value(Fault::MalformedJson).unwrap(),
            json!({"kind": "malformed_json"})
        );
        assert_eq!("token".parse::<Endpoint>().unwrap(), Endpoint::Token);
        assert_eq!(
            "wrong iss".parse::<IdTokenDefect>().unwrap(),
            IdTokenDefect::WrongIss
        );
    }

    #[test]
    fn grants_parse_and_find_tokens_by_value() {
        let id = token_id("the-refresh-token");
        assert_eq!(id.len(), 22);
        let grants: Grants = serde_json::from_value(json!({
            "codes": [],
            "access_tokens": [{"id": "x", "client_id": "svc", "scope": "orders:read",
                "format": "jwt", "grant": "client_credentials", "state": "active",
                "presented": 0, "issued_at": 1, "expires_at": 2}],
            "refresh_tokens": [{"id": id, "client_id": "bot", "sub": "u", "scope": "openid",
                "family": "f", "state": "rotated", "presented": 2, "issued_at": 1,
                "expires_at": 2}]
        }))
        .unwrap();
        let refresh = grants.refresh_token("the-refresh-token").unwrap();
        assert_eq!(refresh.state, TokenState::Rotated);
        assert_eq!(grants.refresh_family("f").count(), 1);
        assert!(grants.access_tokens[0].sub.is_none());
    }

    #[test]
    fn new_user_sends_its_password_but_never_prints_it() {
        let user = NewUser {
            username: "carol".into(),
            password: Secret::new("carol-pw"),
            sub: None,
            claims: Map::new(),
        };
        assert_eq!(serde_json::to_value(&user).unwrap()["password"], "carol-pw");
        assert!(!format!("{user:?}").contains("carol-pw"));
    }
}
