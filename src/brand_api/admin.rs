//! The brand API's control surface: faults, the request log, payments,
//! consumers at run time, and reset.
//!
//! The operations are methods on [`BrandApiState`], used by the embedded
//! handle ([`super::MockBrandApi::control`]) and by the `/admin` HTTP API.
//! The HTTP API is open when the API listens on loopback and off otherwise
//! (403), the IdP's rule without its admin token.
//!
//! | call | effect |
//! |---|---|
//! | `GET /admin/requests`, `DELETE /admin/requests` | read or clear the request log |
//! | `POST /admin/faults {"route": "orders", "count": 2, "fault": {"kind": "status", "status": 503}}` | next N responses of a route fail, stall or carry malformed JSON; `DELETE /admin/faults` clears |
//! | `GET /admin/payments` | every accepted payment |
//! | `POST /admin/consumers {"sub": "...", "profile": {...}, "orders": [...]}` | add or replace a consumer |
//! | `POST /admin/client-certificates {"certificate": "-----BEGIN CERTIFICATE-----...", "sub": "..."}` | trust a client certificate by itself (pinned) on the TLS listener, as the consumer `sub`; 201 with its subject and fingerprint |
//! | `GET /admin/client-certificates` | the pinned client certificates: subject, issuer, SHA-256 fingerprint, `sub` |
//! | `GET /admin/keys` | the `kid`s cached from the IdP's JWKS and how often it was fetched |
//! | `POST /admin/reset` | faults, log, payments, consumers, pinned client certificates and key cache back to the start (the shared clock is left alone: it is the IdP's to reset) |

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use x509_cert::der::Decode as _;

use super::error::ApiError;
use super::faults::{ApiRoute, Fault};
use super::fixtures::{ConsumerData, PinnedClient};
use super::log::RequestLogEntry;
use super::payments::Payment;
use super::state::BrandApiState;

impl BrandApiState {
    /// Queue `count` faults for `route`.
    pub fn push_fault(&self, route: ApiRoute, fault: Fault, count: usize) -> Result<(), ApiError> {
        fault.validate().map_err(ApiError::InvalidRequest)?;
        crate::idp::faults::check_count(count).map_err(ApiError::InvalidRequest)?;
        self.faults().push(route, fault, count);
        Ok(())
    }

    pub fn clear_faults(&self) {
        self.faults().clear();
    }

    /// How many faults are queued for `route`.
    pub fn pending_faults(&self, route: ApiRoute) -> usize {
        self.faults().pending(route)
    }

    /// How many times the IdP's JWKS was fetched.
    pub fn jwks_fetches(&self) -> u64 {
        self.trust().jwks().fetches()
    }

    /// Add a consumer, or replace the one with the same `sub`. Order ids
    /// must stay unique across consumers.
    pub fn put_consumer(&self, consumer: ConsumerData) -> Result<(), ApiError> {
        consumer.validate().map_err(ApiError::InvalidRequest)?;
        let mut consumers = self.consumers_mut();
        for other in consumers.values().filter(|c| c.sub != consumer.sub) {
            if let Some(o) = consumer
                .orders
                .iter()
                .find(|o| other.order(&o.id).is_some())
            {
                return Err(ApiError::Conflict(format!(
                    "order id {:?} belongs to another consumer",
                    o.id
                )));
            }
        }
        consumers.insert(consumer.sub.clone(), consumer);
        Ok(())
    }

    /// Trust `client`'s certificate by itself on the TLS listener, as its
    /// consumer. Returns what a read shows of it.
    pub fn pin_client_certificate(&self, client: &PinnedClient) -> Result<Value, ApiError> {
        client.validate().map_err(ApiError::InvalidRequest)?;
        let der = client.der().map_err(ApiError::InvalidRequest)?;
        let view = pinned_view(&der, &client.sub);
        self.pinned_clients().pin(der, client.sub.clone());
        Ok(view)
    }

    /// The pinned client certificates, as reads show them.
    pub fn pinned_client_certificates(&self) -> Vec<Value> {
        self.pinned_clients()
            .list()
            .iter()
            .map(|(der, sub)| pinned_view(der, sub))
            .collect()
    }

    /// Back to the start: no faults, an empty log, no payments, the fixture
    /// consumers, an empty key cache. The shared clock is not touched.
    pub fn reset(&self) {
        self.pinned_clients()
            .replace(super::state::fixture_pins(self.fixtures()));
        self.clear_faults();
        self.clear_requests();
        self.payments_store().clear();
        self.reset_consumers();
        self.trust().jwks().clear();
    }
}

fn pinned_view(der: &[u8], sub: &str) -> Value {
    use sha2::Digest as _;
    let fingerprint = sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let cert = x509_cert::Certificate::from_der(der).ok();
    json!({
        "subject": crate::tls::subject_dn(der).unwrap_or_default(),
        "issuer": cert.map(|c| c.tbs_certificate().issuer().to_string()),
        "sha256_fingerprint": fingerprint,
        "x5t#S256": crate::tls::x5t_s256(der),
        "sub": sub,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultBody {
    route: ApiRoute,
    #[serde(default = "one")]
    count: usize,
    fault: Fault,
}

fn one() -> usize {
    1
}

/// A JSON body, or a clear JSON 400.
struct JsonBody<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::InvalidRequest("cannot read the body".into()))?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::InvalidRequest(format!("bad JSON body: {e}")))
    }
}

async fn get_requests(State(state): State<BrandApiState>) -> Json<Vec<RequestLogEntry>> {
    Json(state.requests())
}

async fn delete_requests(State(state): State<BrandApiState>) -> StatusCode {
    state.clear_requests();
    StatusCode::NO_CONTENT
}

async fn post_fault(
    State(state): State<BrandApiState>,
    JsonBody(body): JsonBody<FaultBody>,
) -> Result<StatusCode, ApiError> {
    state.push_fault(body.route, body.fault, body.count)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_faults(State(state): State<BrandApiState>) -> StatusCode {
    state.clear_faults();
    StatusCode::NO_CONTENT
}

async fn get_payments(State(state): State<BrandApiState>) -> Json<Vec<Payment>> {
    Json(state.payments())
}

async fn post_consumer(
    State(state): State<BrandApiState>,
    JsonBody(consumer): JsonBody<ConsumerData>,
) -> Result<StatusCode, ApiError> {
    state.put_consumer(consumer)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn post_client_certificate(
    State(state): State<BrandApiState>,
    JsonBody(client): JsonBody<PinnedClient>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.pin_client_certificate(&client)?),
    ))
}

async fn get_client_certificates(State(state): State<BrandApiState>) -> Json<Value> {
    Json(json!({ "client_certificates": state.pinned_client_certificates() }))
}

async fn get_keys(State(state): State<BrandApiState>) -> Json<Value> {
    Json(json!({ "fetches": state.jwks_fetches(), "kids": state.trust().jwks().kids() }))
}

async fn post_reset(State(state): State<BrandApiState>) -> StatusCode {
    state.reset();
    StatusCode::NO_CONTENT
}

/// Loopback: open. Elsewhere: off.
async fn guard(State(state): State<BrandApiState>, request: Request, next: Next) -> Response {
    if state.admin_open() {
        next.run(request).await
    } else {
        ApiError::AccessDenied(
            "the admin API is off: the brand API is not listening on loopback".into(),
        )
        .into_response()
    }
}

/// The `/admin` routes.
pub fn routes(state: BrandApiState) -> Router<BrandApiState> {
    Router::new()
        .route("/admin/requests", get(get_requests).delete(delete_requests))
        .route("/admin/faults", post(post_fault).delete(delete_faults))
        .route("/admin/payments", get(get_payments))
        .route("/admin/consumers", post(post_consumer))
        .route(
            "/admin/client-certificates",
            post(post_client_certificate).get(get_client_certificates),
        )
        .route("/admin/keys", get(get_keys))
        .route("/admin/reset", post(post_reset))
        .route_layer(axum::middleware::from_fn_with_state(state, guard))
}
