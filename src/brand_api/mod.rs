//! The mock brand API: a resource server holding per-consumer data (profile,
//! orders, payments), protected by the IdP's JWT access tokens, and by the
//! other three ways a brand API authenticates a caller: HTTP Basic, a
//! static token under a configured scheme, and a TLS client certificate.
//!
//! It finds the IdP over HTTP only, as a real brand API would: discovery at
//! `{issuer}/.well-known/openid-configuration`, then its `jwks_uri`
//! ([`jwks`]). Bearer tokens are checked in [`auth`] (RFC 6750, RFC 9068,
//! and RFC 8705 certificate binding); one module per route ([`profile`],
//! [`orders`], [`payments`]) and per other credential kind ([`basic`],
//! [`static_token`], [`mtls`]); the [`log`] of requests scenarios assert
//! on; [`faults`] to make routes fail; [`admin`] for the control surface;
//! [`fixtures`] for the data; [`trust`] for which tokens it accepts.
//!
//! | route | credentials | answer |
//! |---|---|---|
//! | `GET /api/me` | Bearer, scope `profile` | the consumer's profile, with `sub`; 404 for a subject with no data |
//! | `GET /api/orders` | Bearer, scope `orders:read` | `{"orders": [...]}`, empty for a subject with no data |
//! | `GET /api/orders/{id}` | Bearer, scope `orders:read` | one order; 404 if it is not this consumer's |
//! | `POST /api/payments` | Bearer, scope `payments:write` | 201 `{payment_id, order_id, amount, status}`; `Idempotency-Key` required |
//! | `GET /basic/orders` | HTTP Basic, `[[basic_users]]` | `{username, sub, orders}`; 401 with a `Basic` challenge |
//! | `GET /static/orders` | `Authorization: <type> <token>`, `[[static_tokens]]` | `{token_type, sub, orders}`; 401 with a challenge naming the expected type |
//! | `GET /mtls/orders` | TLS client certificate, `[[client_certificates]]` | `{client_certificate: {subject, common_name, x5t#S256}, sub, orders}`; 403 without a certificate or for an unknown one |
//!
//! With [`BrandApiOptions::tls`] set, the same API is also served on a TLS
//! listener ([`MockBrandApi::mtls_url`]) that requires a client certificate
//! from the configured CA: without one, or with an expired or foreign one,
//! the handshake fails. A Bearer token bound to a certificate (`cnf`
//! `x5t#S256`, RFC 8705 3) is accepted there with that certificate only,
//! and nowhere else.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use standin::idp::{Fixtures, IdpOptions, MockIdp};
//! use standin::brand_api::{MockBrandApi, BrandApiOptions};
//! let idp = MockIdp::start(Fixtures::default_brand()).await?;
//! let mut options = BrandApiOptions::new(idp.issuer());
//! options.clock = idp.clock().clone(); // one clock for every party
//! let api = MockBrandApi::start_with(options).await?;
//! println!("orders at {}/api/orders", api.url());
//! let log = api.control().requests();
//! # Ok(()) }
//! ```

pub mod admin;
pub mod auth;
pub mod basic;
pub mod error;
pub mod faults;
pub mod fixtures;
pub mod introspection;
pub mod jwks;
pub mod log;
pub mod mtls;
pub mod orders;
pub mod payments;
pub mod profile;
pub mod state;
pub mod static_token;
pub mod trust;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

pub use auth::{AuthError, Consumer};
pub use error::ApiError;
pub use faults::ApiRoute;
pub use fixtures::{
    Amount, BasicUser, BrandApiFixtures, CertificateSubject, ConsumerData, FixturesError, Item,
    Order, PinnedClient, StaticToken,
};
pub use log::RequestLogEntry;
pub use payments::{Payment, PaymentResponse};
pub use state::BrandApiState;
pub use trust::Trust;

use crate::clock::Clock;
use crate::server::Server;
use crate::tls::{ClientAuth, TlsServer, TlsSettings, TlsStartError};

/// Request bodies above this are refused with 413 before any parsing.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The audience a token must name unless configured otherwise (the IdP's
/// default `audience` for its clients).
pub const DEFAULT_AUDIENCE: &str = "brand-api";

/// The API's routes over `state`; usable in-process with
/// `tower::ServiceExt::oneshot`.
pub fn router(state: BrandApiState) -> Router {
    let fault = |route| from_fn_with_state((state.clone(), route), faults::inject);
    let auth = |scope: &'static str| from_fn_with_state((state.clone(), scope), auth::require);
    Router::new()
        .route(
            "/api/me",
            get(profile::handler)
                .route_layer(auth(profile::SCOPE))
                .route_layer(fault(ApiRoute::Me)),
        )
        .route(
            "/api/orders",
            get(orders::list)
                .route_layer(auth(orders::SCOPE))
                .route_layer(fault(ApiRoute::Orders)),
        )
        .route(
            "/api/orders/{id}",
            get(orders::one)
                .route_layer(auth(orders::SCOPE))
                .route_layer(fault(ApiRoute::Order)),
        )
        .route(
            "/api/payments",
            post(payments::handler)
                .route_layer(auth(payments::SCOPE))
                .route_layer(fault(ApiRoute::Payments)),
        )
        .route("/basic/orders", get(basic::orders))
        .route("/static/orders", get(static_token::orders))
        .route("/mtls/orders", get(mtls::orders))
        .merge(admin::routes(state.clone()))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(from_fn_with_state(state.clone(), log::record))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(
            // Method and path only: headers carry tokens.
            TraceLayer::new_for_http().make_span_with(|r: &Request<_>| {
                tracing::debug_span!("brand_api", method = %r.method(), path = %r.uri().path())
            }),
        )
        .with_state(state)
}

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("issuer {0:?} is not an absolute http(s) URL")]
    Issuer(String),
    #[error("TLS listener: {0}")]
    Tls(#[from] TlsStartError),
}

/// How to start the API.
#[derive(Clone, Debug)]
pub struct BrandApiOptions {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The shared clock (pass the IdP's).
    pub clock: Clock,
    /// The IdP whose tokens are accepted; its discovery document is at
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// What the tokens' `aud` must contain.
    pub audience: String,
    pub fixtures: BrandApiFixtures,
    /// Also serve the API over TLS, requiring a client certificate from
    /// these settings' CA, or a pinned one ([`MockBrandApi::mtls_url`]).
    pub tls: Option<TlsSettings>,
    /// Also accept opaque access tokens, checked at the IdP's
    /// introspection endpoint as this client (RFC 7662,
    /// [`introspection`]). Without it only JWT access tokens pass.
    pub introspection: Option<introspection::IntrospectionClient>,
}

impl BrandApiOptions {
    /// 127.0.0.1 on a free port, a new clock, audience `brand-api`, the
    /// default fixtures (alice and bob).
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            clock: Clock::new(),
            issuer: issuer.into(),
            audience: DEFAULT_AUDIENCE.into(),
            fixtures: BrandApiFixtures::default_brand(),
            tls: None,
            introspection: None,
        }
    }
}

/// A running mock brand API. Dropping it stops the server.
pub struct MockBrandApi {
    state: BrandApiState,
    url: String,
    server: Server,
    mtls: Option<TlsServer>,
    mtls_url: Option<String>,
}

impl MockBrandApi {
    /// Start with the defaults of [`BrandApiOptions::new`].
    pub async fn start(issuer: impl Into<String>) -> Result<Self, StartError> {
        Self::start_with(BrandApiOptions::new(issuer)).await
    }

    /// Start with explicit address, clock, issuer, audience and fixtures.
    /// The IdP need not be up yet: its keys are fetched with the first token.
    pub async fn start_with(options: BrandApiOptions) -> Result<Self, StartError> {
        let Some(issuer) = Trust::issuer_url(&options.issuer) else {
            return Err(StartError::Issuer(options.issuer));
        };
        let bind = |source| StartError::Bind {
            addr: options.addr,
            source,
        };
        let listener = crate::server::bind(options.addr).await.map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let state = BrandApiState::new(
            &issuer,
            &options.audience,
            options.clock,
            options.fixtures,
            addr.ip().is_loopback(),
        );
        if let Some(client) = options.introspection.clone() {
            state.trust().introspect_with(client);
        }
        let mtls = match &options.tls {
            Some(tls) => Some(
                TlsServer::start_pinned(
                    tls,
                    ClientAuth::Required,
                    state.trust().clock(),
                    Some(state.pinned_clients()),
                    router(state.clone()),
                )
                .await?,
            ),
            None => None,
        };
        let server = Server::spawn(listener, addr, router(state.clone()));
        Ok(Self {
            state,
            url: format!("http://{addr}"),
            server,
            mtls_url: mtls.as_ref().map(TlsServer::url),
            mtls,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://{addr}`, no trailing slash; the routes are below it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `https://{addr}` of the TLS listener that requires a client
    /// certificate, when [`BrandApiOptions::tls`] was set.
    pub fn mtls_url(&self) -> Option<&str> {
        self.mtls_url.as_deref()
    }

    /// The TLS listener's address, when there is one.
    pub fn mtls_addr(&self) -> Option<SocketAddr> {
        self.mtls.as_ref().map(TlsServer::addr)
    }

    /// The clock every expiry decision of this API reads.
    pub fn clock(&self) -> &Clock {
        self.state.trust().clock()
    }

    /// The issuer whose tokens are accepted.
    pub fn issuer(&self) -> &str {
        self.state.trust().issuer()
    }

    /// The control surface: request log, faults, payments, consumers, reset.
    pub fn control(&self) -> &BrandApiState {
        &self.state
    }

    /// Serve until the server stops (for the command line).
    pub async fn wait(mut self) {
        self.server.wait().await;
    }
}
