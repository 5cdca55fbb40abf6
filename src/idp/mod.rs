//! The mock brand identity provider: an OAuth 2.0 authorization server and
//! OpenID Provider with a controllable clock, fault injection and
//! inspection.
//!
//! One module per endpoint: [`discovery`], [`jwks`], [`authorize`] (with
//! [`login`] for its forms), [`token`], [`userinfo`], [`introspect`],
//! [`revoke`], and [`admin`] for the control surface. Decisions live apart
//! from HTTP where they are more than a lookup ([`token::exchange`],
//! [`authorize::begin`]).
//!
//! Service credentials, for third-party NLU engines: Google-style
//! [`service_accounts`] get tokens through the JWT bearer grant
//! ([`jwt_bearer`], RFC 7523), IBM-style API keys through the [`apikey`]
//! grant; both mint with [`service_token`], and [`credentials_admin`] adds
//! their admin routes.
//!
//! Started with a TLS listener ([`MockIdp::start_with_tls`]), the IdP also
//! takes client certificates: `tls_client_auth` clients ([`client_auth`],
//! RFC 8705 2.1) get access tokens bound to their certificate, which
//! introspection reports and userinfo enforces ([`bearer::check_binding`]).
//!
//! What the IdP keeps of the codes and tokens it issues is a compact record
//! each ([`records`]), forgotten on the shared clock once expired, under a
//! ceiling ([`Limits`], [`IdpOptions::limits`]) at which JWT access tokens
//! of client credentials make room and everything else is refused with
//! `temporarily_unavailable`: a long load test levels off instead of
//! exhausting memory.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use standin::idp::{Fixtures, MockIdp};
//! let idp = MockIdp::start(Fixtures::default_brand()).await?;
//! println!("discovery at {}/.well-known/openid-configuration", idp.issuer());
//! idp.control().advance_clock(std::time::Duration::from_secs(3600));
//! # Ok(()) }
//! ```

pub mod admin;
pub mod apikey;
pub mod authorize;
pub mod bearer;
pub mod client_auth;
pub mod credentials_admin;
pub mod demo;
pub mod discovery;
pub mod error;
pub mod faults;
pub mod fixtures;
pub mod http;
pub mod inspector;
pub mod introspect;
pub mod jwks;
pub mod jwt_bearer;
pub mod keys;
pub mod login;
pub mod pages;
pub mod quirks;
pub mod records;
pub mod revoke;
pub mod service_accounts;
pub mod service_token;
pub mod state;
pub mod token;
pub mod tokens;
pub mod userinfo;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use serde_json::json;
use tower_http::trace::TraceLayer;

pub use admin::{ControlError, Grants, NewUser};
pub use apikey::{ApiKeyConfig, ApiKeyFile, NewApiKey};
pub use faults::{Endpoint, Fault, IdTokenDefect};
pub use fixtures::{ClientConfig, Fixtures, FixturesError, UserConfig};
pub use keys::SigningAlg;
pub use records::{Limits, TokenId};
pub use service_accounts::{
    NewServiceAccount, ServiceAccountConfig, ServiceAccountKey, ServiceAccountKeyFile,
};
pub use service_token::NLU_AUDIENCE;
pub use state::{IdpState, token_id};

use crate::clock::Clock;
use crate::server::Server;
use crate::tls::{ClientAuth, TlsServer, TlsSettings};

/// Request bodies above this are refused with 413 before any parsing.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// The IdP's routes over `state`; usable in-process with `tower::ServiceExt::oneshot`.
pub fn router(state: IdpState) -> Router {
    let fault =
        |endpoint| axum::middleware::from_fn_with_state((state.clone(), endpoint), faults::inject);
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::handler).layer(fault(Endpoint::Discovery)),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::handler).layer(fault(Endpoint::Discovery)),
        )
        .route("/jwks", get(jwks::handler).layer(fault(Endpoint::Jwks)))
        .route(
            "/authorize",
            get(authorize::handler).post(authorize::handler).layer(fault(Endpoint::Authorize)),
        )
        .route("/login", post(login::login).layer(fault(Endpoint::Login)))
        .route("/consent", post(login::consent).layer(fault(Endpoint::Consent)))
        .route("/token", post(token::handler).layer(fault(Endpoint::Token)))
        .route(
            "/userinfo",
            get(userinfo::handler).post(userinfo::handler).layer(fault(Endpoint::Userinfo)),
        )
        .route("/introspect", post(introspect::handler).layer(fault(Endpoint::Introspect)))
        .route("/revoke", post(revoke::handler).layer(fault(Endpoint::Revoke)))
        .route("/demo/callback", get(demo::callback))
        .merge(admin::routes(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(
            // Method and path only: query strings can carry codes and state.
            TraceLayer::new_for_http().make_span_with(|r: &Request<_>| {
                tracing::debug_span!("idp", method = %r.method(), path = %r.uri().path())
            }),
        )
        .with_state(state)
}

async fn not_found() -> (StatusCode, axum::Json<serde_json::Value>) {
    (
        StatusCode::NOT_FOUND,
        axum::Json(
            json!({ "error": "not_found", "error_description": "no such endpoint; see /.well-known/openid-configuration" }),
        ),
    )
}

async fn method_not_allowed() -> (StatusCode, axum::Json<serde_json::Value>) {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(
            json!({ "error": "invalid_request", "error_description": "this endpoint does not accept this HTTP method" }),
        ),
    )
}

/// Forget long-expired codes and tokens, and ended sessions and forms,
/// every few seconds of real time (decisions use the shared clock), so a
/// load test below the ceiling levels off too.
async fn prune_periodically(state: IdpState) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        state.prune();
    }
}

/// Why the IdP could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("signing keys: {0}")]
    Keys(#[from] keys::KeyError),
    #[error("client {client}: signing_alg {alg} has no key loaded")]
    MissingKey { client: String, alg: SigningAlg },
    #[error("TLS listener: {0}")]
    Tls(#[from] crate::tls::TlsStartError),
}

/// How to start the IdP beyond its fixtures.
#[derive(Clone, Debug)]
pub struct IdpOptions {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The shared clock (pass the same one to the other parties).
    pub clock: Clock,
    /// The issuer URL when the IdP is reached by another name than its
    /// listening address (a proxy, a container). Default: `http://{addr}`.
    pub issuer: Option<String>,
    /// Quirk modes in force from the start ([`quirks`]).
    pub quirks: quirks::Quirks,
    /// How many codes, tokens, sessions and forms the IdP holds at most,
    /// and how many inspection lists ([`records`]).
    pub limits: Limits,
}

impl Default for IdpOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            clock: Clock::new(),
            issuer: None,
            quirks: quirks::Quirks::new(),
            limits: Limits::default(),
        }
    }
}

/// A running mock IdP. Dropping it stops the server.
pub struct MockIdp {
    state: IdpState,
    server: Server,
    mtls: Option<TlsServer>,
    pruner: tokio::task::JoinHandle<()>,
}

impl MockIdp {
    /// Start on 127.0.0.1 with a free port and its own clock.
    pub async fn start(fixtures: Fixtures) -> Result<Self, StartError> {
        Self::start_with(fixtures, IdpOptions::default()).await
    }

    /// Start with explicit address, clock and issuer.
    pub async fn start_with(fixtures: Fixtures, options: IdpOptions) -> Result<Self, StartError> {
        Self::start_with_tls(fixtures, options, None).await
    }

    /// Start as [`MockIdp::start_with`] does and, with `tls`, also listen
    /// over TLS asking for (not requiring) client certificates from its CA:
    /// the endpoints of RFC 8705's `mtls_endpoint_aliases`, where
    /// `tls_client_auth` clients authenticate and receive certificate-bound
    /// access tokens ([`MockIdp::mtls_url`]). The issuer stays the plain one.
    pub async fn start_with_tls(
        fixtures: Fixtures,
        options: IdpOptions,
        tls: Option<TlsSettings>,
    ) -> Result<Self, StartError> {
        let keys = keys::KeySet::new(fixtures.signing_keys()?);
        for client in &fixtures.clients {
            if keys.active(client.signing_alg).is_none() {
                return Err(StartError::MissingKey {
                    client: client.id.to_string(),
                    alg: client.signing_alg,
                });
            }
        }
        let listener =
            crate::server::bind(options.addr)
                .await
                .map_err(|source| StartError::Bind {
                    addr: options.addr,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: options.addr,
            source,
        })?;
        let issuer = options
            .issuer
            .map(|i| i.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("http://{addr}"));
        let mtls_listener = match &tls {
            Some(tls) => Some(crate::tls::bind(tls.addr).await?),
            None => None,
        };
        let mut state = IdpState::new(
            issuer,
            options.clock,
            fixtures,
            keys,
            addr.ip().is_loopback(),
        );
        state.set_quirks(options.quirks);
        state.set_limits(options.limits);
        state.mtls_url = mtls_listener
            .as_ref()
            .map(|(_, addr)| format!("https://{addr}").into());
        let mtls = match (tls, mtls_listener) {
            (Some(tls), Some((listener, addr))) => {
                let config = tls
                    .server_config(ClientAuth::Optional, &state.clock)
                    .map_err(crate::tls::TlsStartError::from)?;
                Some(TlsServer::spawn(
                    listener,
                    addr,
                    router(state.clone()),
                    config,
                ))
            }
            _ => None,
        };
        let server = Server::spawn(listener, addr, router(state.clone()));
        let pruner = tokio::spawn(prune_periodically(state.clone()));
        Ok(Self {
            state,
            server,
            mtls,
            pruner,
        })
    }

    /// `https://{addr}` of the TLS listener, when started with one: the
    /// base of the `mtls_endpoint_aliases` (RFC 8705 5).
    pub fn mtls_url(&self) -> Option<&str> {
        self.state.mtls_url.as_deref()
    }

    /// The token endpoint on the TLS listener, when there is one.
    pub fn mtls_token_endpoint(&self) -> Option<String> {
        self.mtls_url().map(|u| format!("{u}/token"))
    }

    /// The TLS listener's address, when there is one.
    pub fn mtls_addr(&self) -> Option<SocketAddr> {
        self.mtls.as_ref().map(TlsServer::addr)
    }

    /// The issuer URL (no trailing slash); discovery is below it.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The clock every expiry decision of this IdP reads.
    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// The control surface: clock, faults, inspection, users, clients, keys.
    pub fn control(&self) -> &IdpState {
        &self.state
    }

    /// Serve until the server stops (for the command line).
    pub async fn wait(mut self) {
        self.server.wait().await;
    }
}

impl Drop for MockIdp {
    fn drop(&mut self) {
        self.pruner.abort();
    }
}
