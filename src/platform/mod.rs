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
//! - [`credentials`]: the vault; [`credentials::consumer_authentication`] validates
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
//! - [`domains`]: NLU domains, trained with Third-party NLU credentials.
//! - [`consumer_sessions`]: pre-authenticated consumers' tokens, per
//!   consumer id, refreshed while the consumer session lives and revoked
//!   at the IdP when it ends; the session handle that authenticates a
//!   conversation, bound to that session.
//! - [`tokens_api`]: the Get Tokens API and its client credentials token
//!   endpoint for brand services.
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
//! | `POST /api/conversations` | open: `{"org","bot","consumer_id"?,"consumer_session"?}` → 201 `{"id","authenticated"}`; a consumer session handle authenticates the conversation for its consumer (403 `invalid_consumer_session` otherwise) |
//! | `POST /api/conversations/{id}/messages` | `{"text"}` → `{"replies":[{"text","link"?}]}` |
//! | `GET /api/conversations/{id}/transcript` | the newest messages, with links, and how many earlier ones are no longer kept |
//! | `GET /api/conversations/{id}/events` | the newest events, and how many earlier ones are no longer kept |
//! | `GET /api/conversations/{id}/context` | whether a token is held, its expiry |
//! | `DELETE /api/conversations/{id}` | close; purges the token |
//! | `GET /api/orgs/{org}/credentials` | the organisation's credentials |
//! | `POST /api/orgs/{org}/credentials/consumer-auth` | `{"name","url"}` → 201, or 400 `{"errors":[...]}` |
//! | `GET /callback/{account}/redirectCode`, `.../redirectedCode` | the authorization response |
//! | `GET /api/orgs/{org}/credentials/{name}/authorize` | OAuth 2.0 authorization code credential: 302 to the brand's authorization endpoint |
//! | `POST /api/orgs/{org}/credentials/{name}/authorize` | OAuth 2.0 client credentials credential: fetch a token now |
//! | `GET /api/orgs/{org}/credentials/{name}/token` | whether an OAuth 2.0 credential holds a token (never its value) |
//! | `POST /api/orgs/{org}/credentials/{name}/test` | Mutual Authentication credential: `{"url"}` → the TLS handshake's outcome (version, cipher suite, server certificate), or exactly why it failed |
//! | `GET`, `POST /api/orgs/{org}/domains` | the organisation's NLU domains; create one `{"name","credential","project_id"?,"workspace_id"?}` |
//! | `POST /api/orgs/{org}/domains/{domain}/train` | train a domain with its Third-party NLU credential → `{"domain","provider","status"}` |
//! | `GET /api/oauth/requests` | the platform's own outbound OAuth requests: endpoint, grant type, client authentication, status, outcome, duration (never a secret, code or token) |
//! | `GET /oauth2/callback` | the authorization response for OAuth 2.0 authorization code credentials |
//! | `GET /chat`, `GET /chat/{id}`, `POST /chat/{id}` | the chat page |
//! | `POST /api/account/{account}/consumer/sessions` | Consumer Pre-Authentication: `{"code","redirect_uri","code_verifier"?,"nonce"?}` → 201 `{"consumer_id","expires_at","session_token"}` (the handle that opens the consumer's authenticated conversations) |
//! | `DELETE /api/account/{account}/consumer/{consumerId}/session` | end a consumer session; purges its tokens and revokes them at the IdP (RFC 7009, best effort) |
//! | `POST /oauth/token` | client credentials token for a brand service (RFC 6749 4.4) |
//! | `GET /api/account/{account}/consumer/{consumerId}/brand/tokens` | Get Tokens: the consumer's current tokens, for a bearer with `delegated.token.read.external` |

pub mod bots;
pub mod capped;
pub mod chat;
pub mod console;
pub mod consumer_sessions;
pub mod conversations;
pub mod credentials;
pub mod delegation;
pub mod dialog;
pub mod domains;
pub mod events;
pub mod fixtures;
pub mod integrations;
pub mod oauth;
pub mod org;
pub mod timeline;
pub mod tokens_api;
pub mod web;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler as _;
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

/// Credential bodies may carry a key store (base64): up to this.
const CREDENTIAL_BODY_LIMIT: usize = 1024 * 1024;

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
    /// Where the credential vault lives (in memory unless a data directory
    /// is given).
    pub vault: credentials::VaultLocation,
    /// The vault key (base64 of 32 bytes), e.g. from `STANDIN_VAULT_KEY`;
    /// without it a file vault uses its key file.
    pub vault_key: Option<crate::secret::Secret>,
    /// Lifetime of a consumer session (Consumer Pre-Authentication), in
    /// seconds on the shared clock: its tokens are purged, and no longer
    /// refreshed, once it has passed.
    pub consumer_session_ttl_secs: i64,
    /// How long conversations are kept, how many, and how much of each.
    pub conversations: conversations::ConversationLimits,
    /// Consumer sessions kept at most; at the cap the one closest to its
    /// end is ended (and its tokens revoked) to make room.
    pub max_consumer_sessions: usize,
}

impl Default for PlatformOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            clock: Clock::new(),
            public_url: None,
            state_ttl_secs: 300,
            http_timeout: Duration::from_secs(10),
            vault: credentials::VaultLocation::Memory,
            vault_key: None,
            consumer_session_ttl_secs: 3600,
            conversations: Default::default(),
            max_consumer_sessions: consumer_sessions::DEFAULT_MAX_SESSIONS,
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
    /// The platform's own outbound OAuth requests (`GET /api/oauth/requests`).
    pub oauth_log: oauth::outbound::OutboundLog,
    /// Tokens, flights and authorizations of the OAuth 2.0 credential kinds.
    pub oauth_tokens: credentials::oauth_tokens::OAuthTokens,
    /// The mutual TLS clients of Mutual Authentication credentials.
    pub mtls_clients: credentials::mutual_authentication::Clients,
    /// For the brand API: redirects off, timeout.
    pub api_http: reqwest::Client,
    /// The organisations' NLU domains (declared or created over HTTP).
    pub domains: domains::Domains,
    /// Pre-authenticated consumers' tokens, by organisation and consumer id.
    pub consumer_sessions: consumer_sessions::ConsumerSessions,
    /// The brand services of the Get Tokens API and the tokens issued to them.
    pub brand_tokens: tokens_api::BrandTokens,
    /// The vault console's browser sessions (admin tokens given).
    pub console: console::Sessions,
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
    #[error(transparent)]
    Vault(#[from] credentials::OpenError),
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
        let vault = credentials::Vault::open(
            &options.vault,
            options.vault_key.as_ref().map(|k| k.expose()),
        )?;
        for c in fixtures.credentials {
            declare(&vault, &orgs, c, url, options.clock.now())?;
        }
        let api_http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(options.http_timeout)
            .build()
            .expect("reqwest client builds with rustls");
        let oauth_log = oauth::outbound::OutboundLog::default();
        let oauth = oauth::OAuthClient::new(options.http_timeout)
            .with_log(oauth_log.clone(), options.clock.clone());
        let consumer_sessions =
            consumer_sessions::ConsumerSessions::new(consumer_sessions::revocation::Revoker::new(
                oauth.clone(),
                orgs.values().map(|o| (o.id.clone(), o.provider.clone())),
                options.http_timeout,
            ))
            .with_max(options.max_consumer_sessions);
        let conversations = conversations::Conversations::new(options.conversations.clone());
        Ok(Self {
            clock: options.clock.clone(),
            oauth,
            oauth_tokens: credentials::oauth_tokens::OAuthTokens::new(options.http_timeout)
                .with_log(oauth_log.clone(), options.clock.clone()),
            oauth_log,
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
            conversations,
            challenges: Default::default(),
            mtls_clients: Default::default(),
            api_http,
            domains: domains::Domains::declared(fixtures.domains),
            consumer_sessions,
            brand_tokens: tokens_api::BrandTokens::new(fixtures.brand_services),
            console: Default::default(),
        })
    }

    /// The NLU domains of `org` trained with `credential` (what a deletion
    /// of the credential names; here so the vault need not import the
    /// domains, which import the vault).
    pub fn domains_using(&self, org: &OrgId, credential: &str) -> Vec<String> {
        self.domains
            .list(org)
            .into_iter()
            .filter(|d| d.credential == credential)
            .map(|d| d.name)
            .collect()
    }

    /// The platform's base URL (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn org(&self, id: &str) -> Option<Org> {
        self.orgs.get(id).cloned()
    }

    /// The organisations' ids, in order.
    pub fn org_ids(&self) -> Vec<String> {
        self.orgs.keys().cloned().collect()
    }

    fn first_org(&self) -> Option<String> {
        self.orgs.keys().next().cloned()
    }

    /// Save a credential for `org` from the fields of a saved body
    /// (`type`, `name`, the kind's fields), validated as over HTTP.
    pub fn add_credential(
        &self,
        org: &str,
        fields: serde_json::Value,
    ) -> Result<(), Vec<FieldError>> {
        let unknown = || {
            vec![credentials::err(
                "org",
                "unknown",
                format!("no organisation {org:?}"),
            )]
        };
        let o = self.org(org).ok_or_else(unknown)?;
        let serde_json::Value::Object(mut map) = fields else {
            return Err(vec![credentials::err(
                "body",
                "not_an_object",
                "the fields must be a JSON object",
            )]);
        };
        let kind = map
            .remove("type")
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let name = map
            .remove("name")
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let now = self.clock.now();
        let ctx = credentials::SaveContext {
            org: &o,
            platform_url: self.url(),
            now,
        };
        let kind = credentials::validate(&kind, &name, serde_json::Value::Object(map), &ctx)?;
        let credential = Credential {
            name,
            kind,
            created_at: now,
            updated_at: now,
        };
        self.vault.insert(&o.id, credential).map_err(|e| match e {
            credentials::SaveError::Invalid(errors) => errors,
            credentials::SaveError::Exists => vec![credentials::err(
                "name",
                "exists",
                "a credential with this name exists",
            )],
            credentials::SaveError::OnlyOne { existing } => vec![credentials::err(
                "type",
                "one_per_organisation",
                format!("{existing:?} is this organisation's one credential of this type"),
            )],
            other => vec![credentials::err("vault", "storage", format!("{other:?}"))],
        })
    }

    /// Save a Consumer Authentication credential for `org`, validated as
    /// over HTTP.
    pub fn add_consumer_auth(
        &self,
        org: &str,
        name: &str,
        url: &str,
    ) -> Result<(), Vec<FieldError>> {
        self.add_credential(
            org,
            serde_json::json!({ "type": "consumer_authentication", "name": name, "url": url }),
        )
    }
}

/// Save (or re-save, if it changed) a credential declared in fixtures.
/// Declarations win over what a previous run stored under the same name.
fn declare(
    vault: &credentials::Vault,
    orgs: &BTreeMap<String, Org>,
    c: CredentialConfig,
    url: &str,
    now: crate::clock::Instant,
) -> Result<(), StartError> {
    let name = c.name().to_string();
    let invalid = |errors: String| StartError::Credential {
        org: c.org.to_string(),
        name: name.clone(),
        errors,
    };
    let o = orgs
        .get(c.org.as_str())
        .ok_or_else(|| invalid("unknown organisation".into()))?;
    let mut map = c.fields.clone();
    let kind = map
        .remove("type")
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    map.remove("name");
    let ctx = credentials::SaveContext {
        org: o,
        platform_url: url,
        now,
    };
    let kind = credentials::validate(&kind, &name, serde_json::Value::Object(map), &ctx).map_err(
        |errors| {
            invalid(
                errors
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        },
    )?;
    let credential = Credential {
        name: name.clone(),
        kind,
        created_at: now,
        updated_at: now,
    };
    let result = match vault.get(&o.id, &name) {
        None => vault.insert(&o.id, credential),
        Some(old) if old.kind.type_name() != credential.kind.type_name() => vault
            .remove(&o.id, &name)
            .and_then(|_| vault.insert(&o.id, credential)),
        Some(old) => vault.replace(
            &o.id,
            Credential {
                created_at: old.created_at,
                ..credential
            },
        ),
    };
    result.map_err(|e| invalid(format!("{e:?}")))
}

/// The platform's routes over `state`; usable in-process with `oneshot`.
pub fn router(state: PlatformState) -> Router {
    use conversations::http as conv;
    Router::new()
        .route("/api/conversations", post(conv::create))
        .route("/api/conversations/{id}", axum::routing::delete(conv::close))
        .route(
            "/api/conversations/{id}/messages",
            post(dialog::post_message),
        )
        .route("/api/conversations/{id}/transcript", get(conv::transcript))
        .route("/api/conversations/{id}/events", get(conv::events))
        .route("/api/conversations/{id}/context", get(conv::context))
        .route(
            "/api/orgs/{org}/credentials",
            get(credentials::http::list).post(
                credentials::http::create.layer(DefaultBodyLimit::max(CREDENTIAL_BODY_LIMIT)),
            ),
        )
        .route(
            "/api/orgs/{org}/credentials/consumer-auth",
            post(credentials::http::create_consumer_auth).get(credentials::http::list),
        )
        .route(
            "/api/orgs/{org}/credentials/{name}",
            get(credentials::http::read)
                .put(credentials::http::replace.layer(DefaultBodyLimit::max(CREDENTIAL_BODY_LIMIT)))
                .delete(credentials::http::delete),
        )
        .route(
            "/api/orgs/{org}/credentials/{name}/authorize",
            get(credentials::oauth2_authorization_code::authorize).post(credentials::oauth2_client_credentials::authorize),
        )
        .route(
            "/api/orgs/{org}/credentials/{name}/test",
            post(credentials::mutual_authentication::probe::handler),
        )
        .route(
            "/api/orgs/{org}/credentials/{name}/token",
            get(credentials::oauth_tokens::token_status),
        )
        .route(
            credentials::oauth2_authorization_code::CALLBACK_PATH,
            get(credentials::oauth2_authorization_code::callback),
        )
        .route(
            "/api/orgs/{org}/domains",
            get(domains::http::list).post(domains::http::create),
        )
        .route(
            "/api/orgs/{org}/domains/{domain}/train",
            post(domains::train::train),
        )
        .route(
            "/callback/{account}/redirectCode",
            get(delegation::callback::handler),
        )
        .route(
            "/callback/{account}/redirectedCode",
            get(delegation::callback::handler),
        )
        .route(
            "/api/account/{account}/consumer/sessions",
            post(consumer_sessions::http::start),
        )
        .route(
            "/api/account/{account}/consumer/{consumer}/session",
            axum::routing::delete(consumer_sessions::http::end),
        )
        .route("/oauth/token", post(tokens_api::token::handler))
        .route("/api/oauth/requests", get(oauth::outbound::handler))
        .route(
            "/api/account/{account}/consumer/{consumer}/brand/tokens",
            get(tokens_api::get_tokens::handler),
        )
        .route("/chat", get(chat::start))
        .route("/chat/{id}", get(chat::show).post(chat::say))
        .route("/chat/{id}/updates", get(chat::updates))
        .route("/chat/{id}/clock", axum::routing::post(chat::clock))
        .route("/chat.js", get(chat::script))
        .merge(console::routes(CREDENTIAL_BODY_LIMIT))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::map_response(too_large_as_json))
        .layer(
            // Method and path only: callback queries carry codes and state.
            TraceLayer::new_for_http().make_span_with(|r: &Request<_>| {
                tracing::debug_span!("platform", method = %r.method(), path = %r.uri().path())
            }),
        )
        .with_state(state)
}

/// axum answers an over-long body with 413 and plain text; say it in the
/// platform's JSON error format instead.
async fn too_large_as_json(response: axum::response::Response) -> axum::response::Response {
    let plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && plain {
        return web::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the request body is too large for this endpoint (credentials: 1 MiB, other calls: 64 KiB)",
        );
    }
    response
}

async fn not_found() -> axum::response::Response {
    web::error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn method_not_allowed() -> axum::response::Response {
    web::error(
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
