//! The two OAuth 2.0 credential kinds (`features/credentials/oauth_code.feature`,
//! `features/credentials/client_credentials.feature`): the brand registers
//! the platform's redirect URI for its client at the IdP, the admin's
//! browser ([`DelegationWorld::agent`]) authorises the credential through
//! the IdP's login and consent forms, the platform's callback keeps the
//! token, integrations use it, refresh it, and fetch client credentials
//! tokens. What the IdP issued is read from its inspection view, by token
//! id; no token, code, `state` or secret is printed.

use std::fmt;

use anyhow::{Context as _, anyhow, bail, ensure};
use cucumber::{given, then, when};
use serde_json::{Value, json};
use standin::conformance::{Landing, Page};
use standin::idp::{ClientConfig, Endpoint, Fault};
use url::Url;

use super::params::GrantParam;
use super::vault::encode;
use super::{DelegationWorld, Link, PlatformPage};

/// The IdP user the admin signs in as (default brand fixtures).
const PASSWORD_OF_ALICE: &str = "alice-password";

/// The scope the authorization code credentials of the suite ask for.
const CODE_SCOPE: &str = "openid orders:read";

/// The lifetime of the access tokens of the suite's IdP clients.
const ACCESS_TTL_SECS: u64 = 300;

/// How long the IdP's token endpoint takes, once, when it is slow: long
/// enough for every concurrent call to arrive while the one request is in
/// flight, well inside the platform's timeout.
const SLOW_MS: u64 = 400;

/// What the scenarios of the OAuth 2.0 kinds remember.
#[derive(Default)]
pub struct OAuthKinds {
    /// Where Authorize sent the admin's browser (the IdP's authorization
    /// endpoint with the request's parameters).
    pub authorize_redirect: Option<Link>,
    /// The IdP's redirect back to the platform's OAuth 2.0 callback.
    pub callback: Option<Link>,
    /// The page the admin's browser is on at the IdP.
    pub page: Option<Page>,
    /// The HTML of the last page the platform showed the admin's browser.
    pub platform_html: String,
    /// Conversations opened together, by index.
    pub crowd: Vec<usize>,
    /// Their bot's answers to the last message said in all of them.
    pub crowd_replies: Vec<String>,
    /// The last token status read.
    pub status: Option<Value>,
}

impl fmt::Debug for OAuthKinds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthKinds")
            .field("authorize_redirect", &self.authorize_redirect)
            .field("callback", &self.callback)
            .field("page", &self.page.as_ref().map(Page::describe))
            .field("crowd", &self.crowd)
            .field("crowd_replies", &self.crowd_replies)
            .field("status", &self.status)
            .finish()
    }
}

/// Whether the IdP client issues refresh tokens, and for how long.
#[derive(Clone, Copy)]
enum Refresh {
    /// Rotated on every refresh (the IdP's default), 30 days.
    Rotating,
    /// No refresh token at all.
    Never,
    /// Rotated, lasting this many seconds.
    Lasting(u64),
}

fn secret_of(client: &str) -> String {
    format!("{client}-secret")
}

impl DelegationWorld {
    /// The platform's OAuth 2.0 callback URL.
    fn oauth_callback(&self) -> String {
        self.url("/oauth2/callback")
    }

    /// Register `client` at the IdP with `redirect_uri` for the
    /// authorization code grant.
    fn register_code_client(
        &self,
        client: &str,
        redirect_uri: &str,
        refresh: Refresh,
    ) -> anyhow::Result<()> {
        let mut config = json!({
            "id": client,
            "name": "Bot platform (authorization code credential)",
            "secret": secret_of(client),
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "scopes": ["openid", "profile", "orders:read"],
            "consent": true,
            "access_token_ttl_secs": ACCESS_TTL_SECS,
            "id_token_ttl_secs": ACCESS_TTL_SECS,
        });
        match refresh {
            Refresh::Rotating => {}
            Refresh::Never => config["grant_types"] = json!(["authorization_code"]),
            Refresh::Lasting(secs) => config["refresh_token_ttl_secs"] = json!(secs),
        }
        let config: ClientConfig = serde_json::from_value(config)?;
        self.idp
            .control()?
            .add_client(config)
            .map_err(|e| anyhow!("the IdP refused the client {client}: {e}"))
    }

    /// The redirect URI a read of credential `name` of `org` shows.
    async fn shown_redirect_uri(&mut self, org: &str, name: &str) -> anyhow::Result<String> {
        let path = format!("/api/orgs/{org}/credentials/{}", encode(name));
        let (status, body) = self
            .credential_request(reqwest::Method::GET, &path, None)
            .await?;
        ensure!(status == 200, "reading {name} answered {status}: {body}");
        body["redirect_uri"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("the credential shows no redirect_uri: {body}"))
    }

    /// Save an authorization code credential for `client` with its real
    /// secret, and register at the IdP the redirect URI it shows.
    async fn code_credential(
        &mut self,
        org: &str,
        name: &str,
        client: &str,
        refresh: Refresh,
    ) -> anyhow::Result<()> {
        let body = json!({
            "type": "oauth2_authorization_code",
            "name": name,
            "client_id": client,
            "client_secret": secret_of(client),
            "scope": CODE_SCOPE,
            "auth_url": format!("{}/authorize", self.idp.issuer().trim_end_matches('/')),
            "token_url": format!("{}/token", self.idp.issuer().trim_end_matches('/')),
        });
        let (status, answer) = self
            .credential_request(
                reqwest::Method::POST,
                &format!("/api/orgs/{org}/credentials"),
                Some(&body.to_string()),
            )
            .await?;
        ensure!(status == 201, "saving {name} answered {status}: {answer}");
        let redirect_uri = self.shown_redirect_uri(org, name).await?;
        self.register_code_client(client, &redirect_uri, refresh)
    }

    /// Click Authorize: the platform must answer 302; the browser goes on
    /// to where it points.
    async fn start_authorizing(&mut self, org: &str, name: &str) -> anyhow::Result<()> {
        let callback = self.oauth_callback();
        self.consumer.stop_at(callback);
        self.oauth_kinds.callback = None;
        let path = format!("/api/orgs/{org}/credentials/{}/authorize", encode(name));
        let response = self
            .http
            .get(self.url(&path))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let Some(location) = location.filter(|_| status == 302) else {
            let body = response.text().await.unwrap_or_default();
            bail!("Authorize answered {status} without a redirect: {body}");
        };
        let url = Url::parse(&location).context("Authorize's Location is not a URL")?;
        self.oauth_kinds.authorize_redirect = Some(Link(url.clone()));
        let landing = self.consumer.open(&url).await?;
        self.land(landing)
    }

    fn land(&mut self, landing: Landing) -> anyhow::Result<()> {
        // The consumer steps about IdP pages read it too.
        self.landing = Some(landing.clone());
        match landing {
            Landing::Redirected(callback) => {
                self.oauth_kinds.callback = Some(Link(callback.url.clone()));
                self.oauth_kinds.page = None;
            }
            Landing::Page(page) => self.oauth_kinds.page = Some(page),
        }
        Ok(())
    }

    /// Sign in (when the IdP asks) and answer the consent page (when it
    /// asks): the IdP must send the browser back to the platform.
    async fn sign_in_and_consent(&mut self, username: &str, allow: bool) -> anyhow::Result<()> {
        ensure!(
            username == super::consumer::USERNAME,
            "the suite knows the password of {} only",
            super::consumer::USERNAME
        );
        if let Some(page) = self.oauth_kinds.page.clone()
            && self.consumer.is_login_form(&page)
        {
            let landing = self
                .consumer
                .sign_in(&page, username, PASSWORD_OF_ALICE)
                .await?;
            self.land(landing)?;
        }
        if let Some(page) = self.oauth_kinds.page.clone()
            && self.consumer.is_consent_page(&page)
        {
            let landing = self.consumer.consent(&page, allow).await?;
            self.land(landing)?;
        }
        ensure!(
            self.oauth_kinds.callback.is_some(),
            "the IdP did not send the browser back to the platform: {}",
            self.oauth_kinds
                .page
                .as_ref()
                .map(Page::describe)
                .unwrap_or_default()
        );
        Ok(())
    }

    /// Open `url` on the platform in the admin's browser; the page is kept.
    async fn platform_page(&mut self, url: &str) -> anyhow::Result<PlatformPage> {
        let shown = self.consumer.return_to(url).await?;
        self.oauth_kinds.platform_html = shown.html.clone();
        self.pages.push(shown.clone());
        Ok(shown)
    }

    /// Deliver the IdP's redirect to the platform's callback.
    async fn deliver_oauth_callback(&mut self) -> anyhow::Result<PlatformPage> {
        let url = self
            .oauth_kinds
            .callback
            .clone()
            .ok_or_else(|| anyhow!("the IdP has not sent the browser back to the platform"))?;
        self.platform_page(url.0.as_str()).await
    }

    /// The whole Authorize flow: the credential must end authorised.
    async fn authorize_in_browser(&mut self, org: &str, name: &str) -> anyhow::Result<()> {
        self.start_authorizing(org, name).await?;
        self.sign_in_and_consent(super::consumer::USERNAME, true)
            .await?;
        let page = self.deliver_oauth_callback().await?;
        ensure!(
            page.status == 200 && page.title == format!("Credential {name} is authorised"),
            "authorizing {name} ended with {}",
            page.describe()
        );
        Ok(())
    }

    /// Read the token status of credential `name` of `org`.
    async fn token_status(&mut self, org: &str, name: &str) -> anyhow::Result<Value> {
        let path = format!("/api/orgs/{org}/credentials/{}/token", encode(name));
        let status = self.get_json(&path).await?;
        for key in ["access_token", "refresh_token", "token"] {
            ensure!(
                status.get(key).is_none(),
                "the status shows {key}: {status}"
            );
        }
        self.oauth_kinds.status = Some(status.clone());
        Ok(status)
    }
}

#[given(
    expr = "the brand registers the redirect URI of credential {string} for the client {string}"
)]
#[when(
    expr = "the brand registers the redirect URI of credential {string} for the client {string}"
)]
async fn register(world: &mut DelegationWorld, name: String, client: String) -> anyhow::Result<()> {
    let uri = world.shown_redirect_uri("demo", &name).await?;
    world.register_code_client(&client, &uri, Refresh::Rotating)
}

#[given(expr = "the credential {string} of {string} is saved for the IdP client {string}")]
async fn saved_for(
    world: &mut DelegationWorld,
    name: String,
    org: String,
    client: String,
) -> anyhow::Result<()> {
    world
        .code_credential(&org, &name, &client, Refresh::Rotating)
        .await
}

#[given(expr = "the credential {string} of {string} is authorised for the IdP client {string}")]
async fn authorised_for(
    world: &mut DelegationWorld,
    name: String,
    org: String,
    client: String,
) -> anyhow::Result<()> {
    world
        .code_credential(&org, &name, &client, Refresh::Rotating)
        .await?;
    world.authorize_in_browser(&org, &name).await
}

#[given(
    expr = "the credential {string} of {string} is authorised for the IdP client {string} without refresh tokens"
)]
async fn authorised_without_refresh(
    world: &mut DelegationWorld,
    name: String,
    org: String,
    client: String,
) -> anyhow::Result<()> {
    world
        .code_credential(&org, &name, &client, Refresh::Never)
        .await?;
    world.authorize_in_browser(&org, &name).await
}

#[given(
    expr = "the credential {string} of {string} is authorised for the IdP client {string} whose refresh tokens last {int} seconds"
)]
async fn authorised_lasting(
    world: &mut DelegationWorld,
    name: String,
    org: String,
    client: String,
    secs: u64,
) -> anyhow::Result<()> {
    world
        .code_credential(&org, &name, &client, Refresh::Lasting(secs))
        .await?;
    world.authorize_in_browser(&org, &name).await
}

#[given(expr = "the brand registered the service client {string}")]
fn service_client(world: &mut DelegationWorld, client: String) -> anyhow::Result<()> {
    let config: ClientConfig = serde_json::from_value(json!({
        "id": client,
        "name": "Bot platform (client credentials credential)",
        "secret": secret_of(&client),
        "grant_types": ["client_credentials"],
        "scopes": ["orders:read"],
        "access_token_ttl_secs": ACCESS_TTL_SECS,
    }))?;
    world
        .idp
        .control()?
        .add_client(config)
        .map_err(|e| anyhow!("the IdP refused the client {client}: {e}"))
}

#[given(expr = "the credential {string} of {string} is saved for the service client {string}")]
async fn cc_saved_for(
    world: &mut DelegationWorld,
    name: String,
    org: String,
    client: String,
) -> anyhow::Result<()> {
    service_client(world, client.clone())?;
    let body = json!({
        "type": "oauth2_client_credentials",
        "name": name,
        "client_id": client,
        "client_secret": secret_of(&client),
        "scope": "orders:read",
        "token_url": format!("{}/token", world.idp.issuer().trim_end_matches('/')),
    });
    let (status, answer) = world
        .credential_request(
            reqwest::Method::POST,
            &format!("/api/orgs/{org}/credentials"),
            Some(&body.to_string()),
        )
        .await?;
    ensure!(status == 201, "saving {name} answered {status}: {answer}");
    Ok(())
}

#[given(expr = "{int} conversations with the demo bot")]
async fn crowd(world: &mut DelegationWorld, count: usize) -> anyhow::Result<()> {
    for i in 0..count {
        let index = world
            .open_conversation(&format!("crowd {i}"), "demo", None)
            .await?;
        world.oauth_kinds.crowd.push(index);
    }
    Ok(())
}

#[given("the IdP's token endpoint is slow once")]
#[when("the IdP's token endpoint is slow once")]
fn slow_token_endpoint(world: &mut DelegationWorld) -> anyhow::Result<()> {
    world
        .idp
        .control()?
        .push_fault(Endpoint::Token, Fault::Delay { delay_ms: SLOW_MS }, 1)
        .map_err(|e| anyhow!("the IdP refused the fault: {e}"))
}

#[when(expr = "the admin of {string} starts authorizing {string}")]
async fn start(world: &mut DelegationWorld, org: String, name: String) -> anyhow::Result<()> {
    world.start_authorizing(&org, &name).await
}

#[when(expr = "the admin signs in at the IdP as {string} and allows consent")]
async fn allow(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    world.sign_in_and_consent(&username, true).await
}

#[when(expr = "the admin signs in at the IdP as {string} and denies consent")]
async fn deny(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    world.sign_in_and_consent(&username, false).await
}

#[when(expr = "the admin of {string} authorizes {string} again in the browser")]
async fn reauthorize(world: &mut DelegationWorld, org: String, name: String) -> anyhow::Result<()> {
    world.authorize_in_browser(&org, &name).await
}

#[when("the browser follows the redirect to the platform's OAuth 2.0 callback")]
#[when("the browser follows the same redirect to the platform's OAuth 2.0 callback again")]
async fn follow(world: &mut DelegationWorld) -> anyhow::Result<()> {
    world.deliver_oauth_callback().await.map(drop)
}

#[when("a response with an unknown state reaches the platform's OAuth 2.0 callback")]
async fn unknown_state(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let mut url = Url::parse(&world.oauth_callback())?;
    url.query_pairs_mut()
        .append_pair("code", "forged-code")
        .append_pair("state", "state-the-platform-never-issued");
    world.platform_page(url.as_str()).await.map(drop)
}

#[when(expr = "the admin of {string} authorizes the credential {string}")]
async fn authorize_post(
    world: &mut DelegationWorld,
    org: String,
    name: String,
) -> anyhow::Result<()> {
    let path = format!("/api/orgs/{org}/credentials/{}/authorize", encode(&name));
    world
        .credential_request(reqwest::Method::POST, &path, None)
        .await
        .map(drop)
}

#[when(expr = "the consumer says {string} in all of them at the same moment")]
async fn say_in_all(world: &mut DelegationWorld, text: String) -> anyhow::Result<()> {
    let sends = world.oauth_kinds.crowd.iter().map(|&index| {
        let chat = world.chat.clone();
        let id = world.conversations[index].id.clone();
        let text = text.clone();
        async move { chat.say(&id, &text).await.map(|reply| reply.text) }
    });
    world.oauth_kinds.crowd_replies = futures::future::try_join_all(sends).await?;
    Ok(())
}

#[then(
    expr = "the platform sends the browser to the IdP's authorization endpoint for the credential {string}"
)]
async fn sent_to_idp(world: &mut DelegationWorld, name: String) -> anyhow::Result<()> {
    let link = world
        .oauth_kinds
        .authorize_redirect
        .clone()
        .ok_or_else(|| anyhow!("Authorize has not been clicked"))?;
    let path = format!("/api/orgs/demo/credentials/{}", encode(&name));
    let (_, credential) = world
        .credential_request(reqwest::Method::GET, &path, None)
        .await?;
    let expected = format!("{}/authorize", world.idp.issuer().trim_end_matches('/'));
    ensure!(
        format!("{}{}", link.0.origin().ascii_serialization(), link.0.path()) == expected,
        "Authorize sent the browser to {link:?}, not {expected}"
    );
    for (param, value) in [
        ("response_type", "code"),
        ("code_challenge_method", "S256"),
        (
            "client_id",
            credential["client_id"].as_str().unwrap_or_default(),
        ),
        (
            "redirect_uri",
            credential["redirect_uri"].as_str().unwrap_or_default(),
        ),
        ("scope", credential["scope"].as_str().unwrap_or_default()),
    ] {
        ensure!(
            link.param(param).as_deref() == Some(value),
            "{param} is {:?}, expected {value:?}",
            link.param(param)
        );
    }
    let count = |name: &str| link.0.query_pairs().filter(|(k, _)| k == name).count();
    for param in ["state", "code_challenge", "redirect_uri", "client_id"] {
        ensure!(count(param) == 1, "{param} appears {} times", count(param));
    }
    ensure!(
        link.param("state").is_some_and(|s| s.len() >= 43),
        "the state is shorter than 256 bits"
    );
    ensure!(
        link.param("code_challenge").is_some_and(|c| c.len() == 43),
        "the code challenge is not a base64url SHA-256"
    );
    ensure!(
        world.oauth_kinds.page.is_some(),
        "the IdP showed no page (login or consent)"
    );
    Ok(())
}

#[then(
    "the IdP sends the browser back to the platform's OAuth 2.0 callback with a code and the state"
)]
fn back_with_code(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let callback = expect_back(world)?;
    ensure!(
        callback.param("code").is_some_and(|c| !c.is_empty()),
        "the redirect carries no code"
    );
    ensure!(
        callback.param("error").is_none(),
        "the redirect carries an error"
    );
    Ok(())
}

#[then(
    expr = "the IdP sends the browser back to the platform's OAuth 2.0 callback with the error {string} and the state"
)]
fn back_with_error(world: &mut DelegationWorld, error: String) -> anyhow::Result<()> {
    let callback = expect_back(world)?;
    ensure!(
        callback.param("error").as_deref() == Some(error.as_str()),
        "the redirect's error is {:?}",
        callback.param("error")
    );
    ensure!(
        callback.param("code").is_none(),
        "an error redirect carries a code"
    );
    Ok(())
}

fn expect_back(world: &DelegationWorld) -> anyhow::Result<Link> {
    let callback = world
        .oauth_kinds
        .callback
        .clone()
        .ok_or_else(|| anyhow!("the IdP did not send the browser back to the platform"))?;
    let mut bare = callback.0.clone();
    bare.set_query(None);
    ensure!(
        bare.as_str() == world.oauth_callback(),
        "the IdP redirected to {bare}, not {}",
        world.oauth_callback()
    );
    let sent = world
        .oauth_kinds
        .authorize_redirect
        .as_ref()
        .and_then(|l| l.param("state"));
    ensure!(
        callback.param("state").is_some() && callback.param("state") == sent,
        "the redirect does not carry the state Authorize sent"
    );
    Ok(callback)
}

#[then(expr = "the page does not show {string}")]
fn page_hides(world: &mut DelegationWorld, text: String) -> anyhow::Result<()> {
    ensure!(
        !world.oauth_kinds.platform_html.contains(&text),
        "the platform's page shows {text:?}"
    );
    Ok(())
}

#[then(expr = "the credential {string} holds a token with a refresh token")]
async fn holds_with_refresh(world: &mut DelegationWorld, name: String) -> anyhow::Result<()> {
    expect_status(world, &name, true, Some(true)).await
}

#[then(expr = "the credential {string} holds a token without a refresh token")]
async fn holds_without_refresh(world: &mut DelegationWorld, name: String) -> anyhow::Result<()> {
    expect_status(world, &name, true, Some(false)).await
}

#[then(expr = "the credential {string} holds no token")]
async fn holds_none(world: &mut DelegationWorld, name: String) -> anyhow::Result<()> {
    expect_status(world, &name, false, None).await
}

#[then(expr = "the credential {string} holds an expired token without a refresh token")]
async fn holds_dead(world: &mut DelegationWorld, name: String) -> anyhow::Result<()> {
    let status = world.token_status("demo", &name).await?;
    ensure!(
        status["authorized"] == false
            && status["expired"] == true
            && status["refresh_token_present"] == false,
        "the token status is {status}"
    );
    Ok(())
}

async fn expect_status(
    world: &mut DelegationWorld,
    name: &str,
    authorized: bool,
    refresh: Option<bool>,
) -> anyhow::Result<()> {
    let status = world.token_status("demo", name).await?;
    ensure!(
        status["authorized"] == authorized,
        "the token status is {status}"
    );
    if authorized {
        let expires_at = status["expires_at"]
            .as_i64()
            .ok_or_else(|| anyhow!("no expires_at in {status}"))?;
        ensure!(
            expires_at > world.clock.now().unix_secs(),
            "the token expired at {expires_at}: {status}"
        );
    } else {
        ensure!(
            status["expires_at"].is_null(),
            "the token status is {status}"
        );
    }
    if let Some(refresh) = refresh {
        ensure!(
            status["refresh_token_present"] == refresh,
            "the token status is {status}"
        );
    }
    Ok(())
}

/// The access tokens the IdP issued to `client` by `grant`.
fn issued_to(world: &DelegationWorld, client: &str, grant: GrantParam) -> anyhow::Result<usize> {
    Ok(world
        .idp
        .control()?
        .grants()
        .access_tokens
        .iter()
        .filter(|t| t.client_id == client && t.grant == grant.0)
        .count())
}

#[then(expr = "the IdP issued {int} access token(s) to {string} by the {grant} grant")]
fn issued(
    world: &mut DelegationWorld,
    expected: usize,
    client: String,
    grant: GrantParam,
) -> anyhow::Result<()> {
    let got = issued_to(world, &client, grant)?;
    ensure!(
        got == expected,
        "the IdP issued {got} access tokens to {client} by the {:?} grant, expected {expected}",
        grant.0
    );
    Ok(())
}

#[then(expr = "the IdP saw {int} refresh token presentation(s) from {string}")]
fn refresh_presented(
    world: &mut DelegationWorld,
    expected: u32,
    client: String,
) -> anyhow::Result<()> {
    let grants = world.idp.control()?.grants();
    let presented: u32 = grants
        .refresh_tokens
        .iter()
        .filter(|r| r.client_id == client)
        .map(|r| r.presented)
        .sum();
    ensure!(
        presented == expected,
        "refresh tokens of {client} were presented {presented} times, expected {expected}: {:?}",
        grants.refresh_tokens
    );
    Ok(())
}

#[then(expr = "the IdP saw the authorization codes of {string} presented {int} time(s)")]
fn codes_presented(
    world: &mut DelegationWorld,
    client: String,
    expected: u32,
) -> anyhow::Result<()> {
    let presented: u32 = world
        .idp
        .control()?
        .grants()
        .codes
        .iter()
        .filter(|c| c.client_id == client)
        .map(|c| c.presented)
        .sum();
    ensure!(
        presented == expected,
        "the codes of {client} were presented {presented} times, expected {expected}"
    );
    Ok(())
}

#[then(
    expr = "the last brand API request carried a token the IdP issued to {string} by the {grant} grant"
)]
fn last_request_token(
    world: &mut DelegationWorld,
    client: String,
    grant: GrantParam,
) -> anyhow::Result<()> {
    let log = world.api.control().requests();
    let last = log
        .last()
        .ok_or_else(|| anyhow!("the brand API received no request"))?;
    ensure!(
        last.scheme.as_deref() == Some("Bearer") && last.status == 200,
        "the last request was {last:?}"
    );
    let id = last
        .token_id
        .as_deref()
        .ok_or_else(|| anyhow!("the last request carried no token"))?;
    let grants = world.idp.control()?.grants();
    let token = grants
        .access_tokens
        .iter()
        .find(|t| t.id == id)
        .ok_or_else(|| anyhow!("the IdP never issued the token of the last request"))?;
    ensure!(
        token.client_id == client && token.grant == grant.0,
        "the last request's token was issued to {} by the {:?} grant",
        token.client_id,
        token.grant
    );
    Ok(())
}

#[then(expr = "the last {int} brand API requests carried one token")]
fn last_share_token(world: &mut DelegationWorld, count: usize) -> anyhow::Result<()> {
    let log = world.api.control().requests();
    ensure!(
        log.len() >= count,
        "the brand API received {} requests",
        log.len()
    );
    let last = &log[log.len() - count..];
    let first = last[0].token_id.clone();
    ensure!(
        first.is_some() && last.iter().all(|e| e.token_id == first && e.status == 200),
        "the last {count} requests did not all carry one accepted token: {last:?}"
    );
    Ok(())
}

#[then(expr = "every one of them was answered {string}")]
fn crowd_answered(world: &mut DelegationWorld, expected: String) -> anyhow::Result<()> {
    let replies = &world.oauth_kinds.crowd_replies;
    ensure!(
        replies.len() == world.oauth_kinds.crowd.len() && !replies.is_empty(),
        "{} of {} conversations were answered",
        replies.len(),
        world.oauth_kinds.crowd.len()
    );
    for reply in replies {
        ensure!(reply == &expected, "a conversation was answered {reply:?}");
    }
    Ok(())
}
