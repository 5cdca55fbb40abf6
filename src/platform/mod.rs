//! The reference conversational platform: organisations with a delegated
//! access provider, a credential vault, bots whose dialogs call the brand
//! API, conversations, and the consumer-delegation flow of unauthenticated
//! conversations (source documents 000, 001, 003).
//!
//! It talks to the brand side (IdP, brand API) over HTTP only, and imports
//! nothing from `idp`, `resource` or `pki`: it can run against a brand's
//! real IdP, as a real platform would.
//!
//! # Layout
//!
//! - [`org`]: organisations and their delegated access provider.
//! - [`credentials`]: the vault; [`credentials::consumer_auth`] validates
//!   Consumer Authentication URLs.
//! - [`fixtures`]: the TOML that declares orgs, credentials and bots.
//! - [`bots`]: dialogs and their triggers.
//! - [`conversations`]: transcript, events and the per-conversation token.
//! - [`integrations`]: outbound calls to the brand API and what each
//!   answer means.
//! - [`delegation`]: the challenge link, the callback, re-challenges.
//! - [`oauth`]: the `openidconnect` client (code exchange, ID token).
//! - [`events`]: the per-conversation event log.
//! - [`chat`]: a minimal HTML chat page for people.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use standin::platform::{Platform, PlatformFixtures};
//! let platform = Platform::start(PlatformFixtures::default_demo()).await?;
//! println!("chat at {}/chat", platform.url());
//! # Ok(()) }
//! ```
//!
//! # HTTP API
//!
//! | route | what |
//! |---|---|
//! | `POST /api/conversations` | open: `{"org","bot","consumer_id"?}` → 201 `{"id"}` |
//! | `POST /api/conversations/{id}/messages` | `{"text"}` → `{"replies":[{"text","link"?}]}` |
//! | `GET /api/conversations/{id}/transcript` | the messages, with links |
//! | `GET /api/conversations/{id}/events` | the event log |
//! | `GET /api/conversations/{id}/context` | whether a token is held, its expiry |
//! | `DELETE /api/conversations/{id}` | close; purges the token |
//! | `GET /api/orgs/{org}/credentials` | the organisation's credentials |
//! | `POST /api/orgs/{org}/credentials/consumer-auth` | `{"name","url"}` → 201, or 400 `{"errors":[...]}` |
//! | `GET /callback/{account}/redirectCode`, `.../redirectedCode` | the authorization response |
//! | `GET /chat`, `GET /chat/{id}`, `POST /chat/{id}` | the chat page |

pub mod bots;
pub mod chat;
pub mod conversations;
pub mod credentials;
pub mod delegation;
pub mod events;
pub mod fixtures;
pub mod integrations;
pub mod oauth;
pub mod org;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

pub use bots::Bot;
pub use conversations::Reply;
pub use credentials::{Credential, FieldError};
pub use events::{Event, EventKind, RechallengeReason, StateRejection};
pub use fixtures::{CredentialConfig, FixturesError, PlatformFixtures};
pub use org::{DelegatedAccessProvider, Org, OrgId};

use crate::clock::Clock;
use crate::server::Server;

/// Request bodies above this are refused with 413.
const BODY_LIMIT: usize = 64 * 1024;

/// How to start the platform beyond its fixtures.
#[derive(Clone, Debug)]
pub struct PlatformOptions {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The shared clock (the same one as the IdP's and the brand API's).
    pub clock: Clock,
    /// The URL the platform is reached at, when not `http://{addr}`;
    /// callback URLs (`{url}/callback/{account}/redirectCode`) are built
    /// from it.
    pub public_url: Option<String>,
    /// Lifetime of a `state` (and its link), in seconds on the shared clock.
    pub state_ttl_secs: i64,
    /// Timeout of each call to the token endpoint and the brand API.
    pub http_timeout: Duration,
}

impl Default for PlatformOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            clock: Clock::new(),
            public_url: None,
            state_ttl_secs: 300,
            http_timeout: Duration::from_secs(10),
        }
    }
}

/// Everything the handlers share: a `Clone` struct of `Arc`s. Locks inside
/// are std mutexes, never held across an `.await`.
#[derive(Clone)]
pub struct PlatformState {
    pub clock: Clock,
    pub options: Arc<PlatformOptions>,
    url: Arc<str>,
    orgs: Arc<BTreeMap<String, Org>>,
    pub bots: Arc<BTreeMap<String, Bot>>,
    pub vault: credentials::Vault,
    pub conversations: conversations::Conversations,
    pub challenges: delegation::Challenges,
    pub oauth: oauth::OAuthClient,
    /// For the brand API: redirects off, timeout.
    pub api_http: reqwest::Client,
}

/// Why the platform could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("credential {name} of {org}: {errors}")]
    Credential {
        org: String,
        name: String,
        errors: String,
    },
}

impl PlatformState {
    /// Build the state for `fixtures` at `url`; the fixtures' credentials
    /// are validated like ones saved over HTTP.
    pub fn new(
        fixtures: PlatformFixtures,
        options: PlatformOptions,
        url: &str,
    ) -> Result<Self, StartError> {
        let url = url.trim_end_matches('/');
        let orgs: BTreeMap<String, Org> = fixtures
            .orgs
            .into_iter()
            .map(|o| (o.id.as_str().to_string(), o))
            .collect();
        let vault = credentials::Vault::default();
        for c in fixtures.credentials {
            let CredentialConfig::ConsumerAuthentication { org, name, url: u } = c;
            let invalid = |errors: String| StartError::Credential {
                org: org.to_string(),
                name: name.clone(),
                errors,
            };
            let o = orgs
                .get(org.as_str())
                .ok_or_else(|| invalid("unknown organisation".into()))?;
            let credential =
                credentials::consumer_auth::validate(&name, &u, o, url).map_err(|errors| {
                    invalid(
                        errors
                            .iter()
                            .map(|e| e.message.clone())
                            .collect::<Vec<_>>()
                            .join("; "),
                    )
                })?;
            vault
                .insert(&org, Credential::ConsumerAuthentication(credential))
                .map_err(|_| invalid("declared twice".into()))?;
        }
        let api_http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(options.http_timeout)
            .build()
            .expect("reqwest client builds with rustls");
        Ok(Self {
            clock: options.clock.clone(),
            oauth: oauth::OAuthClient::new(options.http_timeout),
            options: Arc::new(options),
            url: url.into(),
            orgs: Arc::new(orgs),
            bots: Arc::new(
                fixtures
                    .bots
                    .into_iter()
                    .map(|b| (b.id.clone(), b))
                    .collect(),
            ),
            vault,
            conversations: Default::default(),
            challenges: Default::default(),
            api_http,
        })
    }

    /// The platform's base URL (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn org(&self, id: &str) -> Option<Org> {
        self.orgs.get(id).cloned()
    }

    fn first_org(&self) -> Option<String> {
        self.orgs.keys().next().cloned()
    }

    /// Save a Consumer Authentication credential for `org`, validated as
    /// over HTTP.
    pub fn add_consumer_auth(
        &self,
        org: &str,
        name: &str,
        url: &str,
    ) -> Result<(), Vec<FieldError>> {
        let Some(o) = self.org(org) else {
            return Err(vec![FieldError {
                field: "org",
                code: "unknown",
                message: format!("no organisation {org:?}"),
            }]);
        };
        let c = credentials::consumer_auth::validate(name, url, &o, self.url())?;
        self.vault
            .insert(&o.id, Credential::ConsumerAuthentication(c))
            .map_err(|_| {
                vec![FieldError {
                    field: "name",
                    code: "exists",
                    message: "a credential with this name exists".into(),
                }]
            })
    }
}

/// The platform's routes over `state`; usable in-process with `oneshot`.
pub fn router(state: PlatformState) -> Router {
    use conversations::http as conv;
    Router::new()
        .route("/api/conversations", post(conv::create))
        .route("/api/conversations/{id}", axum::routing::delete(conv::close))
        .route("/api/conversations/{id}/messages", post(conv::post_message))
        .route("/api/conversations/{id}/transcript", get(conv::transcript))
        .route("/api/conversations/{id}/events", get(conv::events))
        .route("/api/conversations/{id}/context", get(conv::context))
        .route("/api/orgs/{org}/credentials", get(credentials::list))
        .route(
            "/api/orgs/{org}/credentials/consumer-auth",
            post(credentials::create_consumer_auth).get(credentials::list),
        )
        .route(
            "/callback/{account}/redirectCode",
            get(delegation::callback::handler),
        )
        .route(
            "/callback/{account}/redirectedCode",
            get(delegation::callback::handler),
        )
        .route("/chat", get(chat::start))
        .route("/chat/{id}", get(chat::show).post(chat::say))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(
            // Method and path only: callback queries carry codes and state.
            TraceLayer::new_for_http().make_span_with(|r: &Request<_>| {
                tracing::debug_span!("platform", method = %r.method(), path = %r.uri().path())
            }),
        )
        .with_state(state)
}

async fn not_found() -> axum::response::Response {
    conversations::http::error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn method_not_allowed() -> axum::response::Response {
    conversations::http::error(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        "this endpoint does not accept this HTTP method",
    )
}

/// A running platform. Dropping it stops the server.
pub struct Platform {
    state: PlatformState,
    server: Server,
}

impl Platform {
    /// Start on 127.0.0.1 with a free port and its own clock.
    pub async fn start(fixtures: PlatformFixtures) -> Result<Self, StartError> {
        Self::start_with(fixtures, PlatformOptions::default()).await
    }

    /// Start with explicit address, clock, public URL and lifetimes.
    pub async fn start_with(
        fixtures: PlatformFixtures,
        options: PlatformOptions,
    ) -> Result<Self, StartError> {
        let bind = |source| StartError::Bind {
            addr: options.addr,
            source,
        };
        let listener = crate::server::bind(options.addr).await.map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let url = options
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let state = PlatformState::new(fixtures, options, &url)?;
        let server = Server::spawn(listener, addr, router(state.clone()));
        Ok(Self { state, server })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The base URL (no trailing slash).
    pub fn url(&self) -> &str {
        self.state.url()
    }

    /// The clock every expiry decision of this platform reads.
    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// The shared state: vault, conversations, challenges.
    pub fn state(&self) -> &PlatformState {
        &self.state
    }

    /// Serve until the server stops (for the command line).
    pub async fn wait(mut self) {
        self.server.wait().await;
    }
}
