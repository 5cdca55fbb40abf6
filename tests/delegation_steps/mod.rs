//! The step library of the delegation suite (`features/delegation/`).
//!
//! One [`DelegationWorld`] per scenario: a fresh mock brand IdP, mock brand
//! API and reference platform, each on port 0 and all reading one shared
//! [`Clock`], frozen (it moves only when a step moves it, so "one second
//! before expiry" stays one second before however slowly the machine
//! runs). They talk to each other over HTTP only, as the real parties do;
//! the steps drive them over HTTP too, through the drivers of
//! `tests/drivers/` that the plain tests share ([`Chat`] for the
//! conversation API, [`Consumer`] for the consumer's browser,
//! [`BrandSite`] for the brand's website, [`GetTokens`] for the Get Tokens
//! API), and read the IdP's and the brand API's inspection surfaces to
//! check what happened on the brand side. The drivers keep nothing of the
//! scenario; the world below does.
//!
//! Modules by domain:
//! - [`conversation`]: opening conversations, what the consumer says, what
//!   the bot answers, the link, the context and the event log
//! - [`consumer`]: the consumer at the IdP (login form, consent)
//! - [`callback`]: the browser's return to the platform, real or tampered,
//!   and the page it gets
//! - [`brand_api`]: faults in the brand API and its request log
//! - [`idp`]: what the IdP issued and saw, and faults at its token endpoint
//! - [`credentials`]: saving Consumer Authentication credentials
//! - [`mtls`]: Mutual Authentication credentials, the test PKI and the
//!   key stores a scenario issues
//! - [`nlu`]: Third-party NLU credentials and domain training at the mock
//!   NLU service
//! - [`params`]: parameter types of the step expressions
//! - [`vault`]: credentials of every type saved, read, replaced and
//!   deleted over the platform's credential API
//! - [`oauth_kinds`]: the OAuth 2.0 credential kinds, authorised in the
//!   admin's browser or by the client credentials grant, used, refreshed
//! - [`pre_auth`]: Consumer Pre-Authentication (the consumer signed in on
//!   the brand's website) and the Get Tokens API for brand services
//! - [`session_end`]: what the end of a consumer session does at the IdP
//!   (its tokens revoked)
//! - [`runner`]: running a suite (console and JUnit)
//! - [`profile`]: the profile mode, against a brand's own IdP

pub mod brand_api;
pub mod callback;
pub mod canary;
pub mod consumer;
pub mod conversation;
pub mod credentials;
pub mod idp;
pub mod mtls;
pub mod nlu;
pub mod oauth_kinds;
pub mod params;
pub mod pre_auth;
pub mod profile;
pub mod runner;
pub mod session_end;
pub mod vault;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

pub use crate::drivers::{Link, PlatformPage};

use anyhow::{Context as _, anyhow, bail, ensure};
use cucumber::{World, given, when};
use serde_json::Value;
use standin::brand_api::introspection::IntrospectionClient;
use standin::brand_api::{BrandApiFixtures, BrandApiOptions, MockBrandApi, RequestLogEntry};
use standin::clock::Clock;
use standin::conformance::Profile;
use standin::conformance::profile::TokenEndpointAuth;
use standin::conformance::{Callback, FormHints, Landing};
use standin::platform::{Platform, PlatformFixtures, PlatformOptions};
use standin::stack::{Brand, BrandOptions, IdpChoice, Stack};

use crate::drivers::{BrandSite, Chat, Consumer, GetTokens};

/// The platform's client at the IdP (added at start, with the platform's
/// real callback URLs as its redirect URIs).
pub const CLIENT_ID: &str = "platform-bot";
const CLIENT_SECRET: &str = "platform-bot-secret";

/// The scope of the default credential: no `payments:write`, so paying is
/// a real 403 `insufficient_scope`; `offline_access`, so the IdP issues a
/// refresh token for the platform to ignore.
pub const DEFAULT_SCOPE: &str = "openid profile offline_access orders:read";

/// How long the platform waits for the token endpoint and the brand API.
pub const HTTP_TIMEOUT: Duration = Duration::from_millis(1500);

/// A conversation the scenario opened.
#[derive(Debug)]
pub struct Conversation {
    /// How the scenario names it ("A", "B"; the first unnamed one is "main").
    pub label: String,
    pub id: String,
    pub org: String,
    /// Every sign-in link the bot sent in it, oldest first.
    pub links: Vec<Link>,
}

/// One bot reply to a consumer message.
#[derive(Debug, Clone)]
pub struct BotReply {
    /// Index of the conversation in [`DelegationWorld::conversations`].
    pub conversation: usize,
    pub text: String,
    pub link: Option<Link>,
}

/// Everything one scenario knows. No token, code, `state` or secret is
/// printed by `Debug` (`-vv`): links and callbacks show parameter names
/// only, the brand API's log carries token ids (hashes), not tokens.
#[derive(World)]
#[world(init = Self::new)]
pub struct DelegationWorld {
    pub clock: Clock,
    /// The embedded mock IdP, or in profile mode the profile's.
    pub idp: profile::Idp,
    pub api: MockBrandApi,
    pub platform: Platform,
    /// The platform's API client: no redirects followed, no cookies.
    pub http: reqwest::Client,
    /// The platform's conversation API.
    pub chat: Chat,
    /// The consumer's browser; at the IdP it stops at the platform's
    /// callback instead of fetching it.
    pub consumer: Consumer,
    /// The brand's website of Consumer Pre-Authentication.
    pub brand_site: BrandSite,
    /// The platform's token endpoint and Get Tokens API.
    pub get_tokens: GetTokens,
    pub conversations: Vec<Conversation>,
    /// The conversation unqualified steps talk about.
    pub current: usize,
    /// The bot's answer to the last consumer message.
    pub reply: Option<BotReply>,
    /// Where the consumer's browser ended at the IdP.
    pub landing: Option<Landing>,
    /// The conversation whose link the browser opened last.
    pub link_of: usize,
    /// The redirect back to the platform, and the conversation whose link
    /// started it.
    pub callback: Option<(usize, Callback)>,
    /// Pages the platform showed, oldest first.
    pub pages: Vec<PlatformPage>,
    /// Brand API requests attributed to the conversation whose message or
    /// callback caused them.
    pub api_requests: Vec<(usize, RequestLogEntry)>,
    /// Authentication URLs saved, by (organisation, credential name).
    pub credential_urls: BTreeMap<(String, String), String>,
    /// The platform's answer to the last credential save.
    pub credential_answer: Option<(u16, Value)>,
    /// The platform's data directory (its vault), removed with the world.
    pub data_dir: canary::DataDir,
    /// What the scenarios of the OAuth 2.0 credential kinds remember.
    pub oauth_kinds: oauth_kinds::OAuthKinds,
    /// The mock NLU service and the provider keys the IdP handed out.
    pub nlu: nlu::NluWorld,
    /// Pre-authenticated consumers, brand service tokens, Get Tokens answers.
    pub pre_auth: pre_auth::PreAuthScenario,
    /// Key stores and trust certificates the scenario issued (by name only
    /// in `Debug`).
    pub mtls: mtls::MtlsFiles,
    /// The external system of the source documents' mutual TLS recipe: the
    /// brand API again, presenting its own self-signed certificate
    /// (`fixtures/mtls/brand-server.pem`), trusting the brand's CA and the
    /// client certificates registered with it (none at first).
    pub external: MockBrandApi,
}

impl fmt::Debug for DelegationWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DelegationWorld")
            .field("clock", &self.clock.now())
            .field("idp", &self.idp.issuer())
            .field("api", &self.api.url())
            .field("platform", &self.platform.url())
            .field("consumer", &self.consumer)
            .field("conversations", &self.conversations)
            .field("current", &self.current)
            .field("reply", &self.reply)
            .field("landing", &self.landing)
            .field("link_of", &self.link_of)
            .field("callback", &self.callback)
            .field("pages", &self.pages)
            .field("api_requests", &self.api_requests)
            .field("credential_urls", &self.credential_urls.keys())
            .field("credential_answer", &self.credential_answer)
            .field("oauth_kinds", &self.oauth_kinds)
            .field("nlu", &self.nlu)
            .field("pre_auth", &self.pre_auth)
            .field("mtls", &self.mtls)
            .field("external", &self.external.mtls_url())
            .finish()
    }
}

/// The platform's client at the IdP.
struct Client<'a> {
    id: &'a str,
    secret: &'a str,
    /// `token_endpoint_auth` of the organisations' provider, when set.
    auth: Option<&'a str>,
}

/// The platform's fixtures: organisations `demo` and `other` on the IdP at
/// `issuer` with `client`, and the demo bot whose dialogs call the brand API at `api`
/// (and at its mutual TLS listener `mtls_api`). Credentials are saved by
/// the scenarios, over HTTP. `external_api` is the external system's mutual
/// TLS listener.
fn platform_fixtures(
    issuer: &str,
    client: &Client<'_>,
    api: &str,
    mtls_api: &str,
    external_api: &str,
) -> anyhow::Result<PlatformFixtures> {
    let provider = |org: &str| {
        let mut p = toml::Table::new();
        p.insert("issuer".into(), issuer.into());
        p.insert("client_id".into(), client.id.into());
        p.insert("client_secret".into(), client.secret.into());
        if let Some(auth) = client.auth {
            p.insert("token_endpoint_auth".into(), auth.into());
        }
        let mut o = toml::Table::new();
        o.insert("id".into(), org.into());
        o.insert("provider".into(), p.into());
        let mut t = toml::Table::new();
        t.insert("orgs".into(), vec![toml::Value::from(o)].into());
        t.to_string()
    };
    let orgs = format!("{}\n{}", provider("demo"), provider("other"));
    let toml = format!(
        r#"
{orgs}

[[bots]]
id = "demo-bot"
fallback = "I can show your orders or pay one."

[[bots.dialogs]]
name = "my-orders"
triggers = ["my orders"]
[bots.dialogs.integration]
name = "list-orders"
method = "GET"
url = "{api}/api/orders"
credential = "brand-login"
[bots.dialogs.answer]
text = "Your orders: {{list}}"
list = "/orders"
item = "{{/id}} ({{/status}})"
empty = "you have no orders"

[[bots.dialogs]]
name = "pay-order"
triggers = ["pay order {{order_id}} amount {{amount}}"]
[bots.dialogs.integration]
name = "pay"
method = "POST"
url = "{api}/api/payments"
credential = "brand-login"
headers = {{ Idempotency-Key = "{{idempotency_key}}" }}
body = {{ order_id = "{{order_id}}", amount = "{{amount}}" }}
[bots.dialogs.answer]
text = "Payment {{/payment_id}} for order {{/order_id}}: {{/status}}."

# Dialogs of the credentials suite: one per vault credential type.
[[bots.dialogs]]
name = "basic-orders"
triggers = ["basic orders"]
[bots.dialogs.integration]
name = "basic-orders"
url = "{api}/basic/orders"
credential = "api-basic"
[bots.dialogs.answer]
text = "Basic orders: {{list}}"
list = "/orders"
item = "{{/id}}"
empty = "none"

[[bots.dialogs]]
name = "static-token-orders"
triggers = ["token orders"]
[bots.dialogs.integration]
name = "static-token-orders"
url = "{api}/static/orders"
credential = "api-token"
[bots.dialogs.answer]
text = "Token orders: {{list}}"
list = "/orders"
item = "{{/id}}"
empty = "none"

[[bots.dialogs]]
name = "crm-orders"
triggers = ["crm orders"]
[bots.dialogs.integration]
name = "crm-orders"
url = "{api}/api/orders"
credential = "crm-oauth"
[bots.dialogs.answer]
text = "CRM orders: {{list}}"
list = "/orders"
item = "{{/id}}"
empty = "none"

[[bots.dialogs]]
name = "service-orders"
triggers = ["service orders"]
[bots.dialogs.integration]
name = "service-orders"
url = "{api}/api/orders"
credential = "svc"
[bots.dialogs.answer]
text = "Service orders: {{list}}"
list = "/orders"
item = "{{/id}}"
empty = "none"

# Consumer Pre-Authentication: the consumer signed in on the brand's website.
[[bots.dialogs]]
name = "signed-in-orders"
triggers = ["my signed-in orders"]
[bots.dialogs.integration]
name = "signed-in-orders"
url = "{api}/api/orders"
credential = "brand-sso"
[bots.dialogs.answer]
text = "Your signed-in orders: {{list}}"
list = "/orders"
item = "{{/id}}"
separator = ", "
empty = "none"

# A Third-party NLU credential trains domains; it cannot authorise a call.
[[bots.dialogs]]
name = "nlu-orders"
triggers = ["nlu orders"]
[bots.dialogs.integration]
name = "nlu-orders"
url = "{api}/api/orders"
credential = "nlu-misused"
[bots.dialogs.answer]
text = "NLU orders: {{list}}"
list = "/orders"
item = "{{/id}}"
empty = "none"

[[bots.dialogs]]
name = "mtls-orders"
triggers = ["mtls orders"]
[bots.dialogs.integration]
name = "mtls-orders"
url = "{mtls_api}/mtls/orders"
credential = "api-mtls"
[bots.dialogs.answer]
text = "mTLS orders of {{/sub}} as {{/client_certificate/common_name}}: {{list}}"
list = "/orders"
item = "{{/id}}"
empty = "none"

[[bots.dialogs]]
name = "external-orders"
triggers = ["external orders"]
[bots.dialogs.integration]
name = "external-orders"
url = "{external_api}/mtls/orders"
credential = "api-mtls"
[bots.dialogs.answer]
text = "mTLS orders of {{/sub}} as {{/client_certificate/common_name}}: {{list}}"
list = "/orders"
item = "{{/id}}"
empty = "none"

[[bots.dialogs]]
name = "mtls-orders-anonymously"
triggers = ["mtls orders anonymously"]
[bots.dialogs.integration]
name = "mtls-orders-anonymously"
url = "{mtls_api}/mtls/orders"
[bots.dialogs.answer]
text = "mTLS orders: {{list}}"
list = "/orders"
item = "{{/id}}"
empty = "none"

# Brand services of the Get Tokens API (secrets are test fixtures).
[[brand_services]]
client_id = "orders-service"
client_secret = "orders-service-secret-0001"
account = "demo"
scopes = ["delegated.token.read.external"]
token_ttl_secs = 600

[[brand_services]]
client_id = "reports-service"
client_secret = "reports-service-secret-0001"
account = "demo"
scopes = ["reports.read"]

[[brand_services]]
client_id = "other-service"
client_secret = "other-service-secret-00001"
account = "other"
scopes = ["delegated.token.read.external"]

# NLU domains, trained with Third-party NLU credentials the scenarios save.
[[domains]]
org = "demo"
name = "billing"
credential = "dialogflow-nlu"
project_id = "billing-project"

[[domains]]
org = "demo"
name = "support"
credential = "watson-nlu"
workspace_id = "ws-support"
"#
    );
    PlatformFixtures::from_toml(&toml, "delegation suite fixtures")
        .map_err(|e| anyhow!("the suite's platform fixtures: {e}"))
}

impl DelegationWorld {
    async fn new() -> anyhow::Result<Self> {
        let profile = profile::current();
        let clock = Clock::frozen();
        let mut api = BrandApiOptions::new("");
        // The mutual TLS listener, with the process's test CA.
        api.tls = Some(mtls::pki()?.settings.clone());
        let idp = match &profile {
            None => IdpChoice::default(),
            Some(profile) => {
                brand_api_for(profile, &mut api);
                IdpChoice::External {
                    issuer: profile.issuer_str(),
                }
            }
        };
        let brand = Brand::start(BrandOptions {
            clock: clock.clone(),
            idp,
            api,
            ..BrandOptions::default()
        })
        .await
        .map_err(|e| anyhow!("cannot start the brand side: {e}"))?;
        let external = mtls::external_system(brand.issuer(), &clock).await?;
        let urls = brand.urls();
        let auth = profile.as_ref().map(|p| match p.token_endpoint_auth {
            TokenEndpointAuth::ClientSecretBasic => "client_secret_basic",
            TokenEndpointAuth::ClientSecretPost => "client_secret_post",
        });
        let client = match &profile {
            None => Client {
                id: CLIENT_ID,
                secret: CLIENT_SECRET,
                auth: None,
            },
            Some(p) => Client {
                id: &p.client_id,
                secret: p.client_secret.expose(),
                auth,
            },
        };
        let fixtures = platform_fixtures(
            &urls.issuer,
            &client,
            &urls.api,
            urls.api_mtls.as_deref().unwrap_or_default(),
            external.mtls_url().unwrap_or_default(),
        )?;
        // The vault on disk, as `standin platform` keeps it by default.
        let data_dir = canary::DataDir::new().context("the platform's data directory")?;
        let mut options = PlatformOptions {
            http_timeout: HTTP_TIMEOUT,
            vault: standin::platform::credentials::VaultLocation::Dir(data_dir.path().into()),
            ..PlatformOptions::default()
        };
        if let Some(profile) = &profile {
            // Where the profile's redirect URI points (checked at start).
            options.addr = profile::platform_addr(profile).map_err(|e| anyhow!(e))?;
            profile::port_free(options.addr).await?;
        }
        let stack = brand
            .with_platform(options, |_| fixtures)
            .await
            .map_err(|e| anyhow!("cannot start the platform: {e}"))?;
        if profile.is_none() {
            // The platform's port is known only now: register its callbacks.
            stack
                .register_platform_client_with(
                    CLIENT_ID,
                    CLIENT_SECRET,
                    &["demo", "other"],
                    &[pre_auth::BRAND_PAGE],
                )
                .map_err(|e| anyhow!("cannot register the platform's client: {e}"))?;
        }
        let Stack { brand, platform } = stack;
        let Brand { idp, api, .. } = brand;
        let (idp, hints) = match (&profile, idp) {
            (None, Some(mock)) => (profile::Idp::mock(mock), FormHints::default()),
            (Some(profile), _) => (profile::Idp::external(profile).await?, profile.form_hints()),
            (None, None) => bail!("the stack has no embedded IdP"),
        };
        let nlu = nlu::NluWorld::start(idp.issuer(), &clock).await?;
        let base = platform.url().to_string();

        let http = crate::drivers::http_client()?;
        let consumer = Consumer::new(hints, &format!("{base}/callback/"))?;
        let brand_site = BrandSite::new(
            http.clone(),
            &base,
            idp.issuer(),
            CLIENT_ID,
            pre_auth::BRAND_PAGE,
            pre_auth::SCOPE,
        );
        Ok(Self {
            clock,
            idp,
            api,
            platform,
            chat: Chat::new(http.clone(), &base),
            get_tokens: GetTokens::new(http.clone(), &base),
            http,
            consumer,
            brand_site,
            conversations: Vec::new(),
            current: 0,
            reply: None,
            landing: None,
            link_of: 0,
            callback: None,
            pages: Vec::new(),
            api_requests: Vec::new(),
            credential_urls: BTreeMap::new(),
            credential_answer: None,
            data_dir,
            oauth_kinds: Default::default(),
            nlu,
            pre_auth: Default::default(),
            mtls: Default::default(),
            external,
        })
    }

    /// The platform's client id at the IdP.
    pub fn client_id(&self) -> String {
        profile::current().map_or_else(|| CLIENT_ID.to_string(), |p| p.client_id.clone())
    }

    /// A URL on the platform.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.platform.url())
    }

    /// The platform's callback URL for `org`, with the path name the
    /// documents use (`redirectCode` or `redirectedCode`).
    pub fn callback_url(&self, org: &str, name: &str) -> String {
        self.url(&format!("/callback/{org}/{name}"))
    }

    /// The conversation the scenario calls `label`.
    pub fn conversation_index(&self, label: &str) -> anyhow::Result<usize> {
        self.conversations
            .iter()
            .position(|c| c.label == label)
            .ok_or_else(|| anyhow!("the scenario has opened no conversation {label:?}"))
    }

    pub fn conversation(&self, index: usize) -> anyhow::Result<&Conversation> {
        self.conversations
            .get(index)
            .ok_or_else(|| anyhow!("the scenario has opened no conversation yet"))
    }

    /// Brand API requests made since the last call, attributed to the
    /// conversation at `index`.
    pub fn attribute_api_requests(&mut self, index: usize) {
        let all = self.api.control().requests();
        let new = all.into_iter().skip(self.api_requests.len());
        self.api_requests
            .extend(new.map(|entry| (index, entry)).collect::<Vec<_>>());
    }

    /// `GET` a JSON document of the platform's API.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        self.chat.get_json(path).await
    }

    /// The platform's page for a browser that opened `url`.
    pub async fn open_on_platform(&self, url: &str) -> anyhow::Result<PlatformPage> {
        self.consumer.return_to(url).await
    }

    /// The last page the platform showed.
    pub fn page(&self) -> anyhow::Result<&PlatformPage> {
        self.pages
            .last()
            .ok_or_else(|| anyhow!("the consumer's browser has not been back to the platform"))
    }
}

/// The brand API of a profile run: it trusts the profile's IdP (JWT access
/// tokens naming `api_audience`; opaque ones through introspection as the
/// profile's client) and serves alice's data to the profile's test user.
fn brand_api_for(profile: &Profile, api: &mut BrandApiOptions) {
    if let Some(audience) = &profile.api_audience {
        api.audience = audience.clone();
    }
    api.introspection = Some(IntrospectionClient {
        client_id: profile.client_id.clone().into(),
        client_secret: profile.client_secret.clone(),
    });
    if let Some(sub) = &profile.user.sub {
        let mut fixtures = BrandApiFixtures::default_brand();
        if let Some(alice) = fixtures
            .consumers
            .iter_mut()
            .find(|c| c.sub == consumer::ALICE_SUB)
        {
            alice.sub = sub.clone();
        }
        api.fixtures = fixtures;
    }
}

#[given("the brand's IdP, the brand API and the platform on one shared clock")]
async fn three_parties(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let now = world.clock.now();
    // The mock IdP and the brand API read the shared clock. An external
    // IdP keeps its own, and the brand API checks its tokens on real time
    // (`standin::stack`): only the platform's expiry decisions move then.
    let mock = world
        .idp
        .embedded()
        .ok()
        .map(|idp| [("IdP", idp.clock()), ("brand API", world.api.clock())]);
    for (party, clock) in mock
        .into_iter()
        .flatten()
        .chain([("platform", world.platform.clock())])
    {
        ensure!(
            clock.now().secs_since(now).abs() <= 1,
            "the {party}'s clock reads {}, the shared clock {now}",
            clock.now()
        );
    }
    let discovery = format!("{}/.well-known/openid-configuration", world.idp.issuer());
    let status = world.http.get(&discovery).send().await?.status();
    ensure!(status == 200, "the IdP's discovery answered {status}");
    if world.api.issuer() != world.idp.issuer() {
        bail!(
            "the brand API trusts {}, not the IdP {}",
            world.api.issuer(),
            world.idp.issuer()
        );
    }
    Ok(())
}

#[given(expr = "the shared clock moves forward {int} seconds")]
#[when(expr = "the shared clock moves forward {int} seconds")]
fn clock_forward(world: &mut DelegationWorld, secs: u64) {
    world.clock.advance(Duration::from_secs(secs));
}
