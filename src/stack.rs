//! One start-up for the whole stack: the brand side (the mock IdP and its
//! mutual TLS token endpoint, or a brand's own IdP; the brand API; the mock
//! NLU service) and the reference platform, on one clock, on free or fixed
//! ports, the platform's fixtures built from the real URLs. `standin up`,
//! the Gherkin suites, the benches and the example start through it.
//!
//! Two steps, because what the platform is told (its fixtures) depends on
//! where the brand side listens: [`Brand::start`], then
//! [`Brand::with_platform`]. [`Stack::register_platform_client`] then
//! registers the platform's client at the embedded IdP with the platform's
//! callbacks, the shape every start-up used to write by hand.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use standin::stack::{Brand, BrandOptions};
//! use standin::platform::{PlatformFixtures, PlatformOptions};
//! let brand = Brand::start(BrandOptions::default()).await?;
//! let stack = brand
//!     .with_platform(PlatformOptions::default(), |_urls| PlatformFixtures::default_demo())
//!     .await?;
//! stack.register_platform_client("demo-bot", "demo-bot-secret", &["demo"])?;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;

use serde_json::json;

use crate::brand_api::{BrandApiOptions, MockBrandApi};
use crate::clock::Clock;
use crate::idp::{ClientConfig, Fixtures, IdpOptions, MockIdp};
use crate::nlu::{MockNlu, NluOptions};
use crate::platform::{Platform, PlatformFixtures, PlatformOptions};
use crate::tls::TlsSettings;

/// Which IdP the stack uses.
pub enum IdpChoice {
    /// The mock IdP, with these fixtures; its mutual TLS token endpoint
    /// when `tls` is set.
    Embedded {
        fixtures: Box<Fixtures>,
        options: Box<IdpOptions>,
        tls: Option<TlsSettings>,
    },
    /// A brand's own IdP, reached over HTTP only (discovery first).
    External { issuer: String },
}

impl Default for IdpChoice {
    /// The mock IdP with the default brand, no TLS.
    fn default() -> Self {
        IdpChoice::Embedded {
            fixtures: Box::new(Fixtures::default_brand()),
            options: Box::default(),
            tls: None,
        }
    }
}

/// How to start the brand side.
pub struct BrandOptions {
    /// The one clock (the IdP's, the brand API's, the NLU's, the
    /// platform's). An external IdP keeps its own, and the brand API then
    /// checks its tokens' times on real time, in step with it.
    pub clock: Clock,
    pub idp: IdpChoice,
    /// The brand API; its issuer and clock are filled in.
    pub api: BrandApiOptions,
    /// Where the mock NLU service listens, if it is wanted.
    pub nlu: Option<SocketAddr>,
}

impl Default for BrandOptions {
    /// The default brand on free loopback ports, no TLS, no NLU.
    fn default() -> Self {
        Self {
            clock: Clock::new(),
            idp: IdpChoice::default(),
            api: BrandApiOptions::new(""),
            nlu: None,
        }
    }
}

/// Why the stack did not start.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("starting the mock IdP: {0}")]
    Idp(#[source] crate::idp::StartError),
    #[error("starting the mock brand API: {0}")]
    Api(#[source] crate::brand_api::StartError),
    #[error("starting the mock NLU service: {0}")]
    Nlu(#[source] crate::nlu::StartError),
    #[error("starting the reference platform: {0}")]
    Platform(#[source] crate::platform::StartError),
    #[error("registering the platform's client at the IdP: {0}")]
    Client(String),
}

/// Where the brand side listens, for the platform's fixtures.
#[derive(Clone, Debug)]
pub struct Urls {
    pub issuer: String,
    /// The brand API, `http://...`.
    pub api: String,
    /// Its mutual TLS listener, when it has one.
    pub api_mtls: Option<String>,
    pub nlu: Option<String>,
}

/// The brand side, running.
pub struct Brand {
    pub clock: Clock,
    /// The embedded IdP (none when the stack uses an external one).
    pub idp: Option<MockIdp>,
    pub api: MockBrandApi,
    pub nlu: Option<MockNlu>,
    issuer: String,
}

impl Brand {
    /// Start the IdP (unless external), the brand API trusting it, and the
    /// NLU service if asked, all on `options.clock`.
    pub async fn start(options: BrandOptions) -> Result<Brand, StackError> {
        let clock = options.clock;
        let external = matches!(options.idp, IdpChoice::External { .. });
        let (idp, issuer) = match options.idp {
            IdpChoice::Embedded {
                fixtures,
                options: idp_options,
                tls,
            } => {
                let idp = MockIdp::start_with_tls(
                    *fixtures,
                    IdpOptions {
                        clock: clock.clone(),
                        ..*idp_options
                    },
                    tls,
                )
                .await
                .map_err(StackError::Idp)?;
                let issuer = idp.issuer().to_string();
                (Some(idp), issuer)
            }
            IdpChoice::External { issuer } => (None, issuer),
        };
        let mut api_options = options.api;
        api_options.issuer = issuer.clone();
        // The times in an external IdP's tokens (`exp`, `nbf`) are on the
        // IdP's clock, which nobody here moves: the brand API checks them
        // on real time. The embedded IdP shares the one clock.
        api_options.clock = if external {
            Clock::new()
        } else {
            clock.clone()
        };
        let api = MockBrandApi::start_with(api_options)
            .await
            .map_err(StackError::Api)?;
        let nlu = match options.nlu {
            Some(addr) => {
                let mut nlu_options = NluOptions::new(issuer.clone());
                nlu_options.addr = addr;
                nlu_options.clock = clock.clone();
                Some(
                    MockNlu::start_with(nlu_options)
                        .await
                        .map_err(StackError::Nlu)?,
                )
            }
            None => None,
        };
        Ok(Brand {
            clock,
            idp,
            api,
            nlu,
            issuer,
        })
    }

    /// The issuer the brand side trusts (the embedded IdP's or the
    /// external one).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Where the brand side listens.
    pub fn urls(&self) -> Urls {
        Urls {
            issuer: self.issuer.clone(),
            api: self.api.url().to_string(),
            api_mtls: self.api.mtls_url().map(str::to_string),
            nlu: self.nlu.as_ref().map(|n| n.url().to_string()),
        }
    }

    /// Start the platform on the brand side's clock, its fixtures built by
    /// `fixtures` from where the brand side listens.
    pub async fn with_platform(
        self,
        options: PlatformOptions,
        fixtures: impl FnOnce(&Urls) -> PlatformFixtures,
    ) -> Result<Stack, StackError> {
        let platform = Platform::start_with(
            fixtures(&self.urls()),
            PlatformOptions {
                clock: self.clock.clone(),
                ..options
            },
        )
        .await
        .map_err(StackError::Platform)?;
        Ok(Stack {
            brand: self,
            platform,
        })
    }
}

/// The whole stack, running. Dropping it stops every party.
pub struct Stack {
    pub brand: Brand,
    pub platform: Platform,
}

impl Stack {
    /// Register the platform's client at the embedded IdP: confidential,
    /// the authorization code and refresh token grants, the default
    /// brand's scopes, consent asked, 300 s tokens, and as redirect URIs
    /// the platform's callbacks for each of `accounts` (both spellings the
    /// documents use) plus `extra_redirect_uris`. Returns it as registered.
    pub fn register_platform_client(
        &self,
        id: &str,
        secret: &str,
        accounts: &[&str],
    ) -> Result<ClientConfig, StackError> {
        self.register_platform_client_with(id, secret, accounts, &[])
    }

    /// [`Stack::register_platform_client`] with more redirect URIs.
    pub fn register_platform_client_with(
        &self,
        id: &str,
        secret: &str,
        accounts: &[&str],
        extra_redirect_uris: &[&str],
    ) -> Result<ClientConfig, StackError> {
        let Some(idp) = &self.brand.idp else {
            return Err(StackError::Client(
                "the stack uses an external IdP: register the client there".into(),
            ));
        };
        let base = self.platform.url();
        let mut redirect_uris: Vec<String> = accounts
            .iter()
            .flat_map(|a| {
                [
                    format!("{base}/callback/{a}/redirectCode"),
                    format!("{base}/callback/{a}/redirectedCode"),
                ]
            })
            .collect();
        redirect_uris.extend(extra_redirect_uris.iter().map(|u| u.to_string()));
        let client: ClientConfig = serde_json::from_value(json!({
            "id": id,
            "name": "Reference platform",
            "secret": secret,
            "redirect_uris": redirect_uris,
            "grant_types": ["authorization_code", "refresh_token"],
            "scopes": ["openid", "profile", "email", "offline_access", "orders:read", "payments:write"],
            "consent": true,
            "access_token_ttl_secs": 300,
            "id_token_ttl_secs": 300,
        }))
        .map_err(|e| StackError::Client(e.to_string()))?;
        idp.control()
            .add_client(client.clone())
            .map_err(|e| StackError::Client(e.to_string()))?;
        Ok(client)
    }

    /// A Consumer Authentication link for `account` at the stack's IdP:
    /// its authorization endpoint (`{issuer}/authorize`, the mock's) with
    /// `client_id`, `response_type=code`, the platform's callback and
    /// `scope`.
    pub fn consumer_auth_link(&self, account: &str, client_id: &str, scope: &str) -> String {
        let mut link = url::Url::parse(&format!(
            "{}/authorize",
            self.brand.issuer().trim_end_matches('/')
        ))
        .expect("the issuer is a URL");
        link.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("response_type", "code")
            .append_pair(
                "redirect_uri",
                &format!("{}/callback/{account}/redirectCode", self.platform.url()),
            )
            .append_pair("scope", scope);
        link.to_string()
    }
}
