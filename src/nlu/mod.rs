//! A mock third-party NLU service, the other side of a "third-party NLU"
//! credential: Dialogflow-like and Watson-like training endpoints that
//! accept only access tokens the mock IdP issued for service credentials
//! (a service account's signed assertion, [`crate::idp::jwt_bearer`]; an
//! API key, [`crate::idp::apikey`]).
//!
//! Like the brand API ([`crate::brand_api`]) it finds the IdP over HTTP only
//! (discovery, then the JWKS) and shares its token checks
//! ([`auth`]); each engine then decides whether the caller fits
//! ([`dialogflow`], [`watson`]); the [`log`] records who trained what.
//!
//! | route | caller | answer |
//! |---|---|---|
//! | `POST /v2/projects/{project}/agent:train` | a service account of `{project}` (scope `cloud-platform` or `dialogflow`) | 200 `{"name", "done": false, "status": "training", "project", "trained_by"}` |
//! | `POST /v1/workspaces/{workspace}/train` | a token from an API key | 200 `{"status": "training", "workspace_id", "trained_by"}` |
//! | `POST /instances/{instance}/v1/workspaces/{workspace}/train` | the same, below a Watson-style instance URL | the same |
//! | `GET`, `DELETE /admin/requests` | loopback | the request log; clearing it |
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use standin::idp::{Fixtures, MockIdp, NewServiceAccount};
//! use standin::nlu::{MockNlu, NluOptions};
//! let idp = MockIdp::start(Fixtures::default_brand()).await?;
//! let mut options = NluOptions::new(idp.issuer());
//! options.clock = idp.clock().clone(); // one clock for every party
//! let nlu = MockNlu::start_with(options).await?;
//! let key_file = idp.control().create_service_account(NewServiceAccount::new("demo-project"))?;
//! println!("train at {}/v2/projects/demo-project/agent:train", nlu.url());
//! # Ok(()) }
//! ```

pub mod admin;
pub mod auth;
pub mod dialogflow;
pub mod log;
pub mod state;
pub mod watson;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use axum::middleware::from_fn_with_state;
use axum::routing::post;
use tower_http::trace::TraceLayer;

pub use auth::{NluCaller, NluError};
pub use log::{Engine, NluRequest};
pub use state::NluState;

use crate::brand_api::Trust;
use crate::clock::Clock;
use crate::server::Server;

/// Request bodies above this are refused with 413 before any parsing.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The audience a token must name unless configured otherwise (the IdP's
/// default for service credentials).
pub const DEFAULT_AUDIENCE: &str = crate::idp::NLU_AUDIENCE;

async fn not_found() -> NluError {
    NluError::NotFound(
        "no such endpoint; see /v2/projects/{project}/agent:train and /v1/workspaces/{workspace}/train"
            .into(),
    )
}

async fn method_not_allowed() -> NluError {
    NluError::MethodNotAllowed("this endpoint does not accept this HTTP method".into())
}

/// The service's routes over `state`; usable in-process with
/// `tower::ServiceExt::oneshot`.
pub fn router(state: NluState) -> Router {
    Router::new()
        .route(
            "/v2/projects/{project}/agent:train",
            post(dialogflow::train),
        )
        .route("/v1/workspaces/{workspace}/train", post(watson::train))
        .route(
            "/instances/{instance}/v1/workspaces/{workspace}/train",
            post(watson::train_in_instance),
        )
        .merge(admin::routes(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(state.clone(), log::record))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(
            // Method and path only: headers carry tokens.
            TraceLayer::new_for_http().make_span_with(|r: &Request<_>| {
                tracing::debug_span!("nlu", method = %r.method(), path = %r.uri().path())
            }),
        )
        .with_state(state)
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("issuer {0:?} is not an absolute http(s) URL")]
    Issuer(String),
}

/// How to start the service.
#[derive(Clone, Debug)]
pub struct NluOptions {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The shared clock (pass the IdP's).
    pub clock: Clock,
    /// The IdP whose tokens are accepted; its discovery document is at
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// What the tokens' `aud` must contain.
    pub audience: String,
}

impl NluOptions {
    /// 127.0.0.1 on a free port, a new clock, audience [`DEFAULT_AUDIENCE`].
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            clock: Clock::new(),
            issuer: issuer.into(),
            audience: DEFAULT_AUDIENCE.into(),
        }
    }
}

/// A running mock NLU service. Dropping it stops the server.
pub struct MockNlu {
    state: NluState,
    url: String,
    server: Server,
}

impl MockNlu {
    /// Start with the defaults of [`NluOptions::new`].
    pub async fn start(issuer: impl Into<String>) -> Result<Self, StartError> {
        Self::start_with(NluOptions::new(issuer)).await
    }

    /// Start with explicit address, clock, issuer and audience. The IdP
    /// need not be up yet: its keys are fetched with the first token.
    pub async fn start_with(options: NluOptions) -> Result<Self, StartError> {
        let Some(issuer) = Trust::issuer_url(&options.issuer) else {
            return Err(StartError::Issuer(options.issuer));
        };
        let bind = |source| StartError::Bind {
            addr: options.addr,
            source,
        };
        let listener = crate::server::bind(options.addr).await.map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let state = NluState::new(
            &issuer,
            &options.audience,
            options.clock,
            addr.ip().is_loopback(),
        );
        let server = Server::spawn(listener, addr, router(state.clone()));
        Ok(Self {
            state,
            url: format!("http://{addr}"),
            server,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://{addr}`, no trailing slash; the routes are below it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The clock every expiry decision of this service reads.
    pub fn clock(&self) -> &Clock {
        self.state.trust().clock()
    }

    /// The issuer whose tokens are accepted.
    pub fn issuer(&self) -> &str {
        self.state.trust().issuer()
    }

    /// The control surface: the request log.
    pub fn control(&self) -> &NluState {
        &self.state
    }

    /// Serve until the server stops (for the command line).
    pub async fn wait(mut self) {
        self.server.wait().await;
    }
}
