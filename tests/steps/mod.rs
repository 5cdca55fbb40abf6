//! The step library of the conformance suite.
//!
//! One [`IdpWorld`] per scenario: a fresh embedded mock IdP on port 0, or,
//! when `STANDIN_PROFILE` names a profile file, the brand's own IdP. Steps
//! reach the IdP over HTTP only, endpoints discovered from
//! `/.well-known/openid-configuration`; steps that need the control surface
//! go through [`IdpControl`] and their scenarios carry `@control`.
//!
//! Modules by domain:
//! - [`discovery`]: discovery document, server metadata, JWKS
//! - [`clients`]: which client and which consumer a scenario plays
//! - [`authorize`]: building and opening the authorization link, what the
//!   consumer sees or where the IdP sends them
//! - [`login`]: login form and consent page
//! - [`token`]: the token endpoint and the tokens it returns
//! - [`userinfo`]: the userinfo endpoint
//! - [`introspect`]: token introspection (RFC 7662)
//! - [`revoke`]: token revocation (RFC 7009)
//! - [`control`]: the mock's control surface (`@control`)
//! - [`faults`]: injected faults and what the bot sees of them (`@control`)
//! - [`admin`]: users, claims, clients, keys and reset at run time, and the
//!   admin API's own answers (`@control`)
//! - [`capacity`]: the IdP's ceiling on records, what makes room at it,
//!   retention and the inspection window (`@control`)
//! - [`params`]: parameter types of the step expressions
//! - [`http`]: a recorded HTTP exchange

pub mod admin;
pub mod authorize;
pub mod capacity;
pub mod clients;
pub mod control;
pub mod discovery;
pub mod faults;
pub mod http;
pub mod introspect;
pub mod login;
pub mod params;
pub mod revoke;
pub mod token;
pub mod userinfo;

use std::fmt;
use std::sync::{Arc, OnceLock};

use anyhow::{Context as _, anyhow, bail};
use cucumber::World;
use serde_json::Value;
use standin::conformance::control::{AdminApi, IdpControl};
use standin::conformance::{Callback, ConsumerAgent, FormHints, Landing, Profile};
use standin::idp::{Fixtures, MockIdp};
use standin::secret::Secret;

use self::authorize::AuthRequest;
use self::clients::{ClientUnderTest, TestUser};
use self::http::Exchange;
use self::token::TokenSet;

/// The profile of the external IdP under test, when there is one. Set once
/// by the runner before any scenario starts.
pub static PROFILE: OnceLock<Option<Arc<Profile>>> = OnceLock::new();

/// Tags of scenarios that only the embedded mock can run: `@control` needs
/// the control surface, `@fixtures` the default brand's clients and users.
pub const MOCK_ONLY_TAGS: [&str; 2] = ["control", "fixtures"];

/// The IdP a scenario talks to.
pub enum Target {
    /// A mock IdP started for this scenario; dropped with the World.
    Embedded(Box<MockIdp>),
    /// A brand's IdP, named by a profile.
    External(Arc<Profile>),
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Embedded(idp) => write!(f, "Embedded({})", idp.issuer()),
            Target::External(profile) => write!(f, "External({})", profile.issuer_str()),
        }
    }
}

/// Everything one scenario knows. Secrets are [`Secret`]s and HTTP bodies
/// are summarised, so `-vv` never prints a token, code or password.
#[derive(World, Debug)]
#[world(init = Self::new)]
pub struct IdpWorld {
    pub target: Target,
    /// The issuer the scenario expects: the mock's base URL or the
    /// profile's issuer.
    pub issuer: String,
    /// The bot's own HTTP client (server to server): no cookies, no redirects.
    pub http: reqwest::Client,
    /// The control surface; `None` against an external IdP.
    pub control: Option<Arc<dyn IdpControl>>,
    /// The discovery document, fetched on first need.
    pub metadata: Option<Value>,
    /// The JWKS, fetched on first need.
    pub jwks: Option<Value>,
    /// The client the bot plays.
    pub client: ClientUnderTest,
    /// The consumer account the scenario signs in with by default.
    pub user: TestUser,
    /// The consumer's browser.
    pub agent: ConsumerAgent,
    /// The authorization link being put together by `Given` steps.
    pub pending: Option<AuthRequest>,
    /// The authorization link the consumer opened last.
    pub sent: Option<AuthRequest>,
    /// Where the consumer's last navigation ended.
    pub landing: Option<Landing>,
    /// The last authorization code received.
    pub code: Option<Secret>,
    /// The last HTTP exchange with a protocol endpoint (token, userinfo ...).
    pub exchange: Option<Exchange>,
    /// Every successful token response, oldest first.
    pub tokens: Vec<TokenSet>,
    /// The scenario's premise does not hold for this external IdP (a
    /// warning said why): the checks after it have nothing to check.
    pub moot: bool,
    /// Keys created by the control surface, oldest first.
    pub rotated_kids: Vec<String>,
    /// Why the last request got no answer (a client-side timeout), if so.
    pub unanswered: Option<String>,
}

impl IdpWorld {
    async fn new() -> anyhow::Result<Self> {
        let profile = PROFILE.get().cloned().flatten();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .context("cannot build the bot's HTTP client")?;
        let (target, issuer, control, client, user, hints) = match profile {
            Some(profile) => {
                let issuer = profile.issuer_str();
                let client = ClientUnderTest::from_profile(&profile);
                let user = TestUser {
                    username: profile.user.username.clone(),
                    password: profile.user.password.clone(),
                };
                let hints = profile.form_hints();
                (Target::External(profile), issuer, None, client, user, hints)
            }
            None => {
                let idp = MockIdp::start(Fixtures::default_brand())
                    .await
                    .map_err(|e| anyhow!("cannot start the mock IdP: {e}"))?;
                let issuer = idp.issuer().trim_end_matches('/').to_string();
                let control: Arc<dyn IdpControl> = Arc::new(AdminApi::new(&issuer, None));
                (
                    Target::Embedded(Box::new(idp)),
                    issuer,
                    Some(control),
                    ClientUnderTest::default_bot(),
                    TestUser::default_consumer(),
                    FormHints::default(),
                )
            }
        };
        let mut agent = ConsumerAgent::new(hints).context("cannot build the consumer agent")?;
        agent.stop_at(client.redirect_uri.clone());
        Ok(Self {
            target,
            issuer,
            http,
            control,
            metadata: None,
            jwks: None,
            client,
            user,
            agent,
            pending: None,
            sent: None,
            landing: None,
            code: None,
            exchange: None,
            tokens: Vec::new(),
            moot: false,
            rotated_kids: Vec::new(),
            unanswered: None,
        })
    }

    /// A check of a rule the standard states as SHOULD, or of an error
    /// code where refusing is what matters: strict against the mock (it
    /// does exactly this), a warning against an external IdP (a brand's
    /// IdP that departs here is not broken), printed with the rule.
    pub fn should(&self, rule: &str, check: anyhow::Result<()>) -> anyhow::Result<()> {
        match check {
            Err(e) if self.is_external() => {
                eprintln!("WARN ({rule}): {e:#}");
                Ok(())
            }
            other => other,
        }
    }

    pub fn is_external(&self) -> bool {
        matches!(self.target, Target::External(_))
    }

    /// The control surface, or a clear refusal.
    pub fn control(&self) -> anyhow::Result<Arc<dyn IdpControl>> {
        match &self.control {
            Some(control) => Ok(control.clone()),
            None if self.is_external() => Err(anyhow!(
                "this step needs the IdP's control surface, which an external IdP does not \
                 have: tag the scenario @control so profile runs skip it"
            )),
            None => Err(anyhow!(
                "the embedded IdP has no control surface configured"
            )),
        }
    }

    /// The discovery document, fetched from the issuer on first use.
    pub async fn metadata(&mut self) -> anyhow::Result<&Value> {
        if self.metadata.is_none() {
            let url = format!("{}/.well-known/openid-configuration", self.issuer);
            let exchange = Exchange::get(&self.http, &url).await?;
            if exchange.status != 200 {
                bail!("discovery at {url} answered {}", exchange.summary());
            }
            let doc = exchange
                .json
                .clone()
                .ok_or_else(|| anyhow!("discovery at {url} is not JSON"))?;
            self.metadata = Some(doc);
        }
        Ok(self.metadata.as_ref().expect("just set"))
    }

    /// An endpoint URL from the discovery document (`token_endpoint` ...).
    pub async fn endpoint(&mut self, field: &str) -> anyhow::Result<String> {
        let doc = self.metadata().await?;
        doc.get(field)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| anyhow!("the discovery document has no {field}"))
    }

    /// The published JWKS, fetched on first use.
    pub async fn jwks(&mut self) -> anyhow::Result<&Value> {
        if self.jwks.is_none() {
            let url = self.endpoint("jwks_uri").await?;
            let exchange = Exchange::get(&self.http, &url).await?;
            if exchange.status != 200 {
                bail!("the JWKS at {url} answered {}", exchange.summary());
            }
            self.jwks = Some(
                exchange
                    .json
                    .ok_or_else(|| anyhow!("the JWKS at {url} is not JSON"))?,
            );
        }
        Ok(self.jwks.as_ref().expect("just set"))
    }

    /// Where the consumer's last navigation ended, or a clear failure.
    pub fn landing(&self) -> anyhow::Result<&Landing> {
        self.landing
            .as_ref()
            .ok_or_else(|| anyhow!("the consumer has not opened anything yet"))
    }

    /// The redirect back to the client, or a failure saying what happened
    /// instead.
    pub fn callback(&self) -> anyhow::Result<&Callback> {
        let landing = self.landing()?;
        landing.callback().ok_or_else(|| {
            anyhow!(
                "expected the IdP to redirect back to the client, but the consumer got {} \
                 (requests: {:?})",
                landing.describe(),
                self.agent.history()
            )
        })
    }

    /// Send a request built from the URL of the endpoint the discovery
    /// document names in `field` (`token_endpoint` ...); record the answer.
    pub async fn send_to_endpoint(
        &mut self,
        field: &str,
        build: impl FnOnce(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> anyhow::Result<()> {
        let endpoint = self.endpoint(field).await?;
        self.exchange = Some(Exchange::send(build(&self.http, &endpoint)).await?);
        Ok(())
    }

    /// The last exchange with a protocol endpoint.
    pub fn exchange(&self) -> anyhow::Result<&Exchange> {
        self.exchange
            .as_ref()
            .ok_or_else(|| anyhow!("no request has been sent to a protocol endpoint yet"))
    }
}

/// A claim that must be the string `value`; `source` says whose claims
/// they are ("the ID token", "userinfo").
pub fn expect_string_claim(
    source: &str,
    claims: &serde_json::Map<String, Value>,
    claim: &str,
    value: &str,
) -> anyhow::Result<()> {
    let actual = claims.get(claim);
    anyhow::ensure!(
        actual.and_then(Value::as_str) == Some(value),
        "{source} carries {actual:?} for {claim:?}, expected {value:?}"
    );
    Ok(())
}

/// The scope values of a space-separated scope, sorted: two scopes grant
/// the same when these are equal (RFC 6749 3.3).
pub fn scope_values(scope: &str) -> Vec<&str> {
    let mut values: Vec<&str> = scope.split_whitespace().collect();
    values.sort_unstable();
    values
}

/// Seconds since the Unix epoch, as JWT and introspection times count.
pub fn unix_now() -> anyhow::Result<i64> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64)
}
