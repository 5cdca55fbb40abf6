//! What one check knows: the run's context (the profile, what discovery
//! said), the embedded platform it started as the IdP's client, the
//! consumer's browser, and what the check saw. Nothing here prints a
//! secret, code, state or token: `Debug` shows names and counts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail, ensure};
use serde_json::{Value, json};
use url::Url;

use super::report::Exchange;
use crate::clock::Clock;
use crate::conformance::{Callback, ConsumerAgent, Landing, Profile};
use crate::platform::{Platform, PlatformFixtures, PlatformOptions};

/// What every check of a run shares.
pub struct RunContext {
    pub profile: Arc<Profile>,
    /// The discovery document, fetched once before the checks.
    pub discovery: Value,
    /// One client for the gate's own requests: no redirects, the
    /// profile's request timeout.
    pub http: reqwest::Client,
    /// The client for the embedded platform, which may itself wait up to
    /// the request timeout for the IdP: a longer limit.
    pub platform_http: reqwest::Client,
    /// With `--browser chromium`: the WebDriver server the consumer's
    /// browser sessions come from.
    pub chromium: Option<Arc<super::chromium::Driver>>,
}

impl RunContext {
    /// A discovery member that is a string.
    pub fn endpoint(&self, name: &str) -> Option<&str> {
        self.discovery.get(name).and_then(Value::as_str)
    }

    /// The brand API call of the profile: its URL (the IdP's userinfo
    /// endpoint by default), when there is one.
    pub fn api_url(&self) -> Option<String> {
        match &self.profile.api.url {
            Some(url) => Some(url.to_string()),
            None => self.endpoint("userinfo_endpoint").map(str::to_string),
        }
    }

    /// A request of the gate that got no answer, said so: which endpoint,
    /// and for a timeout the limit.
    pub fn request_failed(&self, method: &str, url: &str, e: reqwest::Error) -> anyhow::Error {
        if e.is_timeout() {
            anyhow!(
                "{method} {url} did not answer within {} s (the profile's [timeouts] request_secs)",
                self.profile.timeouts.request_secs
            )
        } else if e.is_connect() {
            anyhow!("{method} {url} could not be reached (connection refused or unknown host)")
        } else {
            anyhow!("{method} {url} failed: {}", e.without_url())
        }
    }

    fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.profile.timeouts.request_secs)
    }
}

/// The context of the run in progress (one run per process at a time).
static CONTEXT: Mutex<Option<Arc<RunContext>>> = Mutex::new(None);

pub fn set_context(context: Option<Arc<RunContext>>) {
    *CONTEXT.lock().unwrap_or_else(|e| e.into_inner()) = context;
}

fn context() -> Option<Arc<RunContext>> {
    CONTEXT.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// What a step says when the gate itself cannot go on (a login page it
/// cannot drive): an error of the run, not a verdict on the IdP.
pub const CANNOT_DRIVE: &str = "cannot drive: ";

/// A departure that is legal but worth knowing: the check still passes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub rule: String,
    pub message: String,
    pub fix: String,
}

/// The organisation of the platform's callback in the profile's redirect
/// URI, and the URL the platform is reached at: the redirect URI must end
/// in `/callback/{account}/redirectCode` (or `redirectedCode`), the
/// platform's callback.
pub fn callback_parts(redirect_uri: &Url) -> Result<(String, String), String> {
    let path = redirect_uri.path();
    let mut parts = path.rsplitn(4, '/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("redirectCode" | "redirectedCode"), Some(account), Some("callback"), Some(base))
            if !account.is_empty() && redirect_uri.query().is_none() =>
        {
            let mut public = redirect_uri.clone();
            public.set_path(base);
            let public = public.as_str().trim_end_matches('/').to_string();
            Ok((account.to_string(), public))
        }
        _ => Err(format!(
            "redirect_uri {redirect_uri} is not a platform callback: it must end in /callback/<account>/redirectCode (the reference platform's callback, as source document 001 shows), with no query"
        )),
    }
}

/// The embedded platform of one check, as the IdP's client.
pub struct EmbeddedPlatform {
    pub platform: Platform,
    pub clock: Clock,
    /// The organisation (from the redirect URI).
    pub org: String,
    /// Where the IdP's redirect is delivered: the platform's local
    /// listener, for the public redirect URI's path.
    pub local: String,
    /// The redirect URI's origin and base path, as the IdP knows it.
    pub public: String,
}

/// One check's state.
pub struct ConformWorld {
    pub ctx: Arc<RunContext>,
    pub platform: Option<EmbeddedPlatform>,
    /// The conversation, once opened.
    pub conversation: Option<String>,
    /// The consumer's browser; it stops at the redirect URI.
    pub agent: ConsumerAgent,
    /// The sign-in links the bot sent, oldest first.
    pub links: Vec<Url>,
    /// Where the browser ended at the IdP.
    pub landing: Option<Landing>,
    /// The IdP's redirect to the redirect URI.
    pub callback: Option<Callback>,
    /// The platform's page after the redirect: status and heading.
    pub page: Option<(u16, String)>,
    /// The last JSON document read (discovery, JWKS).
    pub document: Option<Value>,
    /// The variant redirect URI the gate last asked for a code with.
    pub variant: Option<String>,
    /// The revocation endpoint's answer: status and body.
    pub revocation: Option<(u16, Value)>,
    /// A code the gate obtained as the client itself, with its verifier.
    pub direct: Option<DirectCode>,
    /// The token endpoint's last answer to the gate: status, headers,
    /// body (secrets are never printed; see `Debug`).
    pub token_answer: Option<TokenAnswer>,
    /// Legal departures seen; the check passes with a warning.
    pub warnings: Vec<Warning>,
    /// When the check began.
    pub started: std::time::Instant,
    /// The gate's own HTTP exchanges, redacted as recorded.
    pub exchanges: Vec<Exchange>,
    /// With `--browser chromium`: this check's browser, once opened.
    pub browser: Option<super::chromium::Session>,
}

/// A code of the gate's own authorization request.
pub struct DirectCode {
    pub code: String,
    pub verifier: String,
    pub redirect_uri: String,
    /// The nonce of the authorization request.
    pub nonce: String,
}

/// What the token endpoint answered the gate.
pub struct TokenAnswer {
    pub status: u16,
    pub www_authenticate: Option<String>,
    pub cache_control: Option<String>,
    pub body: Value,
}

impl std::fmt::Debug for ConformWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConformWorld")
            .field("issuer", &self.ctx.profile.issuer)
            .field("platform", &self.platform.as_ref().map(|p| &p.local))
            .field("links", &self.links.len())
            .field(
                "callback",
                &self.callback.as_ref().map(Callback::url_without_query),
            )
            .field("page", &self.page)
            .field("direct", &self.direct.is_some())
            .field(
                "token_answer",
                &self.token_answer.as_ref().map(|a| a.status),
            )
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

impl cucumber::World for ConformWorld {
    type Error = anyhow::Error;

    async fn new() -> Result<Self, Self::Error> {
        let ctx = context().ok_or_else(|| anyhow!("no conform run is in progress"))?;
        let mut agent = ConsumerAgent::new(ctx.profile.form_hints())
            .context("cannot build the consumer's browser")?;
        let redirect = ctx.profile.redirect_uri.as_str();
        agent.stop_at(redirect.split('?').next().unwrap_or(redirect).to_string());
        Ok(Self {
            ctx,
            platform: None,
            conversation: None,
            agent,
            links: Vec::new(),
            landing: None,
            callback: None,
            page: None,
            document: None,
            variant: None,
            revocation: None,
            direct: None,
            token_answer: None,
            warnings: Vec::new(),
            started: std::time::Instant::now(),
            exchanges: Vec::new(),
            browser: None,
        })
    }
}

impl ConformWorld {
    pub fn warn(&mut self, rule: &str, message: impl Into<String>, fix: &str) {
        self.warnings.push(Warning {
            rule: rule.into(),
            message: message.into(),
            fix: fix.into(),
        });
    }

    pub fn profile(&self) -> &Profile {
        &self.ctx.profile
    }

    /// The platform's fixtures for the profile: its organisation with the
    /// profile's client, and a bot whose one dialog calls the brand API
    /// with the consumer's token.
    fn fixtures(&self, org: &str) -> anyhow::Result<PlatformFixtures> {
        let profile = self.profile();
        let api = self.ctx.api_url().ok_or_else(|| {
            anyhow!("the profile names no [api] url and discovery no userinfo_endpoint")
        })?;
        let mut provider = toml::Table::new();
        provider.insert("issuer".into(), profile.issuer.clone().into());
        provider.insert("client_id".into(), profile.client_id.clone().into());
        provider.insert(
            "client_secret".into(),
            profile.client_secret.expose().to_string().into(),
        );
        provider.insert(
            "token_endpoint_auth".into(),
            profile.token_endpoint_auth.name().into(),
        );
        let mut integration = toml::Table::new();
        integration.insert("name".into(), "brand-api".into());
        integration.insert("method".into(), profile.api.method.clone().into());
        integration.insert("url".into(), api.into());
        integration.insert("credential".into(), "brand-login".into());
        let mut answer = toml::Table::new();
        answer.insert("text".into(), "The brand API answered.".into());
        let dialog = |name: &str, trigger: &str, credential: &str| {
            let mut integration = integration.clone();
            integration.insert("name".into(), name.into());
            integration.insert("credential".into(), credential.into());
            let mut dialog = toml::Table::new();
            dialog.insert("name".into(), name.into());
            dialog.insert("triggers".into(), toml::Value::Array(vec![trigger.into()]));
            dialog.insert("integration".into(), integration.into());
            dialog.insert("answer".into(), answer.clone().into());
            toml::Value::from(dialog)
        };
        let mut bot = toml::Table::new();
        bot.insert("id".into(), "gate-bot".into());
        bot.insert("fallback".into(), "Ask about your account.".into());
        bot.insert(
            "dialogs".into(),
            toml::Value::Array(vec![
                dialog("my-account", "my account", "brand-login"),
                dialog("my-signed-in-account", "my signed-in account", "brand-sso"),
            ]),
        );
        let mut o = toml::Table::new();
        o.insert("id".into(), org.into());
        o.insert("provider".into(), provider.into());
        let mut all = toml::Table::new();
        all.insert("orgs".into(), toml::Value::Array(vec![o.into()]));
        all.insert("bots".into(), toml::Value::Array(vec![bot.into()]));
        PlatformFixtures::from_toml(&all.to_string(), "the profile")
            .map_err(|e| anyhow!("the platform's fixtures for the profile: {e}"))
    }

    /// Start the embedded platform (once per check) and save the Consumer
    /// Authentication credential for the profile's client.
    pub async fn platform(&mut self) -> anyhow::Result<&EmbeddedPlatform> {
        if self.platform.is_none() {
            let (org, public) =
                callback_parts(&self.profile().redirect_uri).map_err(|e| anyhow!(e))?;
            let clock = Clock::frozen();
            let platform = Platform::start_with(
                self.fixtures(&org)?,
                PlatformOptions {
                    clock: clock.clone(),
                    public_url: Some(public.clone()),
                    http_timeout: self.ctx.request_timeout(),
                    // The consumer sessions of pre-authentication outlive
                    // any access token the IdP gives: the check moves the
                    // clock past the token, not past the session.
                    consumer_session_ttl_secs: 30 * 24 * 3600,
                    ..PlatformOptions::default()
                },
            )
            .await
            .map_err(|e| anyhow!("cannot start the embedded platform: {e}"))?;
            let local = format!("http://{}", platform.addr());
            let profile = self.profile();
            let authorize = self
                .ctx
                .endpoint("authorization_endpoint")
                .ok_or_else(|| anyhow!("discovery names no authorization_endpoint"))?;
            let mut url =
                Url::parse(authorize).context("the authorization endpoint is not a URL")?;
            url.query_pairs_mut()
                .append_pair("client_id", &profile.client_id)
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", profile.redirect_uri.as_str())
                .append_pair("scope", &profile.scope);
            let response = self
                .ctx
                .platform_http
                .post(format!("{local}/api/orgs/{org}/credentials/consumer-auth"))
                .json(&json!({ "name": "brand-login", "url": url.as_str() }))
                .send()
                .await
                .context("the embedded platform did not answer")?;
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or_default();
            ensure!(
                status == 201,
                "the platform refused the profile's sign-in URL (HTTP {status}): {body}"
            );
            self.platform = Some(EmbeddedPlatform {
                platform,
                clock,
                org,
                local,
                public,
            });
        }
        Ok(self.platform.as_ref().expect("started above"))
    }

    /// `GET` a JSON document of the embedded platform.
    pub async fn platform_json(&mut self, path: &str) -> anyhow::Result<Value> {
        let local = self.platform().await?.local.clone();
        let response = self
            .ctx
            .platform_http
            .get(format!("{local}{path}"))
            .send()
            .await
            .with_context(|| format!("GET {path} on the embedded platform"))?;
        ensure!(
            response.status().is_success(),
            "GET {path} on the embedded platform answered {}",
            response.status()
        );
        response
            .json()
            .await
            .with_context(|| format!("GET {path}: not JSON"))
    }

    /// The consumer's browser opens `url` (the HTTP agent, or Chromium).
    pub async fn open(&mut self, url: &Url) -> anyhow::Result<Landing> {
        let Some(driver) = self.ctx.chromium.clone() else {
            return Ok(self.agent.open(url).await?);
        };
        if self.browser.is_none() {
            let session = driver
                .session(
                    &self.ctx.profile.redirect_uri,
                    self.ctx.profile.form_hints(),
                    self.ctx.profile.form.extra.clone(),
                )
                .await
                .map_err(|e| anyhow!("{CANNOT_DRIVE}{e}"))?;
            self.browser = Some(session);
        }
        let limit = self.ctx.request_timeout();
        let browser = self.browser.as_mut().expect("opened above");
        browser.open(url, limit).await
    }

    /// Stop the consumer's browser at URLs starting with `prefix`.
    pub fn stop_at(&mut self, prefix: &str) {
        self.agent.stop_at(prefix.to_string());
        if let Some(b) = self.browser.as_mut() {
            b.stop_at(prefix);
        }
    }

    /// Chromium's way through the IdP's pages ([`Self::through_idp`]):
    /// the browser runs scripts, refreshes and self-submitting forms
    /// itself; the gate fills in and presses.
    async fn through_idp_in_chromium(&mut self, mut landing: Landing) -> anyhow::Result<Landing> {
        let profile = self.ctx.profile.clone();
        let hints = self.agent.hints().clone();
        let limit = self.ctx.request_timeout();
        let mut password_sent = false;
        for _ in 0..10 {
            let page = match &landing {
                Landing::Redirected(_) => return Ok(landing),
                Landing::Page(page) => page.clone(),
            };
            let browser = self
                .browser
                .as_mut()
                .ok_or_else(|| anyhow!("the browser was not opened"))?;
            let asks_password = page
                .forms()?
                .iter()
                .any(|f| f.password_field(&hints).is_some());
            if password_sent && asks_password {
                bail!(
                    "{CANNOT_DRIVE}the IdP showed its login form again after the test user's credentials: check the profile's [user] username and password ({})",
                    page.summary()
                );
            }
            if let Some(next) = browser
                .sign_in(
                    &page,
                    &profile.user.username,
                    profile.user.password.expose(),
                    limit,
                )
                .await?
            {
                password_sent |= asks_password;
                landing = next;
            } else if page.form_with_button(&hints.allow_button)?.is_some() {
                landing = browser.press(&hints.allow_button, limit).await?;
            } else if page.forms()?.is_empty() {
                // A page with nothing to fill in (an error page, say): the
                // caller judges it.
                return Ok(landing);
            } else {
                bail!(
                    "{CANNOT_DRIVE}the gate cannot get past the IdP's page {} in Chromium: check the profile's [form] hints (username_field, password_field, allow_button)",
                    page.summary()
                );
            }
        }
        Ok(landing)
    }

    /// What the report shows of this check's traffic: the browser's
    /// requests (method and path only), the gate's own exchanges, and the
    /// platform's token requests from its outbound log.
    pub async fn exchanges_shown(&mut self) -> Vec<Exchange> {
        let gate = std::mem::take(&mut self.exchanges);
        let visited: Vec<String> = match &self.browser {
            Some(b) => b.history().to_vec(),
            None => self.agent.history().to_vec(),
        };
        let mut shown: Vec<Exchange> = visited
            .iter()
            .map(|line| {
                let (method, path) = line.split_once(' ').unwrap_or(("GET", line));
                Exchange {
                    who: "browser".into(),
                    method: method.into(),
                    url: path.into(),
                    ..Exchange::default()
                }
            })
            .collect();
        shown.extend(gate);
        if self.platform.is_some() {
            for r in self.token_requests().await.unwrap_or_default() {
                shown.push(Exchange {
                    who: "platform".into(),
                    method: "POST".into(),
                    url: r["endpoint"].as_str().unwrap_or_default().into(),
                    request_body: format!(
                        "grant_type={} (client authentication: {})",
                        r["grant_type"].as_str().unwrap_or_default(),
                        r["client_auth"].as_str().unwrap_or_default()
                    ),
                    status: r["status"].as_u64().and_then(|s| u16::try_from(s).ok()),
                    response_body: format!(
                        "outcome {}; returned {}; expires_in {}; departures {}",
                        r["outcome"], r["returned"], r["expires_in"], r["departures"]
                    ),
                    ..Exchange::default()
                });
            }
        }
        shown
    }

    /// Consumer Pre-Authentication, as the brand's website does it: save
    /// the credential, hand the platform the gate's fresh code, and open
    /// the consumer's authenticated conversation with the session handle.
    pub async fn pre_authenticate(&mut self) -> anyhow::Result<()> {
        let direct = self
            .direct
            .as_ref()
            .ok_or_else(|| anyhow!("the gate holds no code"))?;
        let start = json!({
            "code": direct.code,
            "redirect_uri": direct.redirect_uri,
            "code_verifier": direct.verifier,
            "nonce": direct.nonce,
        });
        let (local, org) = {
            let p = self.platform().await?;
            (p.local.clone(), p.org.clone())
        };
        let http = self.ctx.platform_http.clone();
        let saved = http
            .post(format!("{local}/api/orgs/{org}/credentials"))
            .json(&json!({ "type": "consumer_pre_authentication", "name": "brand-sso" }))
            .send()
            .await
            .map_err(|e| anyhow!("the embedded platform did not answer: {}", e.without_url()))?;
        ensure!(
            saved.status().as_u16() == 201,
            "the platform refused the Consumer Pre-Authentication credential: {}",
            saved.text().await.unwrap_or_default()
        );
        let response = http
            .post(format!("{local}/api/account/{org}/consumer/sessions"))
            .json(&start)
            .send()
            .await
            .map_err(|e| anyhow!("the embedded platform did not answer: {}", e.without_url()))?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or_default();
        if status != 201 {
            bail!(
                "the platform could not start the consumer's session with the code (HTTP {status}): {}",
                body["error_description"]
                    .as_str()
                    .or(body["error"].as_str())
                    .unwrap_or_default()
            );
        }
        let handle = body["session_token"]
            .as_str()
            .ok_or_else(|| anyhow!("the platform's session answer has no session_token"))?
            .to_string();
        let opened = http
            .post(format!("{local}/api/conversations"))
            .json(&json!({ "org": org, "bot": "gate-bot", "consumer_session": handle }))
            .send()
            .await
            .map_err(|e| anyhow!("the embedded platform did not answer: {}", e.without_url()))?;
        let body: Value = opened.json().await.unwrap_or_default();
        let id = body["id"]
            .as_str()
            .ok_or_else(|| anyhow!("no conversation id in the platform's answer"))?;
        self.conversation = Some(id.to_string());
        Ok(())
    }

    /// Open the conversation.
    pub async fn open_conversation(&mut self) -> anyhow::Result<()> {
        let (local, org) = {
            let p = self.platform().await?;
            (p.local.clone(), p.org.clone())
        };
        let response = self
            .ctx
            .platform_http
            .post(format!("{local}/api/conversations"))
            .json(&json!({ "org": org, "bot": "gate-bot" }))
            .send()
            .await
            .context("the embedded platform did not open a conversation")?;
        let body: Value = response.json().await.unwrap_or_default();
        let id = body["id"]
            .as_str()
            .ok_or_else(|| anyhow!("no conversation id in {body}"))?;
        self.conversation = Some(id.to_string());
        Ok(())
    }

    fn conversation(&self) -> anyhow::Result<&str> {
        self.conversation
            .as_deref()
            .ok_or_else(|| anyhow!("no conversation was opened"))
    }

    /// The consumer says `text`; the bot's reply text and link.
    pub async fn say(&mut self, text: &str) -> anyhow::Result<(String, Option<Url>)> {
        let local = self.platform().await?.local.clone();
        let id = self.conversation()?.to_string();
        let response = self
            .ctx
            .platform_http
            .post(format!("{local}/api/conversations/{id}/messages"))
            .json(&json!({ "text": text }))
            .send()
            .await
            .context("the embedded platform did not answer the message")?;
        let body: Value = response.json().await.unwrap_or_default();
        let first = &body["replies"][0];
        let reply = first["text"].as_str().unwrap_or_default().to_string();
        let link = match first["link"].as_str() {
            Some(l) => Some(Url::parse(l).context("the bot's link is not a URL")?),
            None => None,
        };
        if let Some(l) = &link {
            self.links.push(l.clone());
        }
        Ok((reply, link))
    }

    /// The conversation's events, by kind, oldest first.
    pub async fn events(&mut self) -> anyhow::Result<Vec<Value>> {
        let id = self.conversation()?.to_string();
        let log = self
            .platform_json(&format!("/api/conversations/{id}/events"))
            .await?;
        Ok(log["events"].as_array().cloned().unwrap_or_default())
    }

    /// The platform's outbound token requests.
    pub async fn token_requests(&mut self) -> anyhow::Result<Vec<Value>> {
        let log = self.platform_json("/api/oauth/requests").await?;
        Ok(log["requests"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["kind"] == "token")
            .cloned()
            .collect())
    }

    /// Go through the IdP's pages from `landing`: sign in as the test user,
    /// consent, until the IdP redirects to the redirect URI (or stops on a
    /// page it cannot get past).
    ///
    /// It takes one-page logins, two-step ones (a username page, then a
    /// password page), consent pages, meta refreshes and auto-submitting
    /// forms of hidden inputs. A 2xx page it cannot get past is an error
    /// of the run ([`CANNOT_DRIVE`]), naming the page and its forms, not a
    /// verdict on the IdP.
    pub async fn through_idp(&mut self, mut landing: Landing) -> anyhow::Result<Landing> {
        if self.ctx.chromium.is_some() {
            return self.through_idp_in_chromium(landing).await;
        }
        let profile = self.ctx.profile.clone();
        let hints = self.agent.hints().clone();
        let password = profile.user.password.expose().to_string();
        let mut password_sent = false;
        for _ in 0..10 {
            let page = match &landing {
                Landing::Redirected(_) => return Ok(landing),
                Landing::Page(page) if !page.status.is_success() => return Ok(landing),
                Landing::Page(page) => page.clone(),
            };
            let forms = page.forms()?;
            let login = page.login_form(&hints)?;
            let asks_password = forms.iter().any(|f| f.password_field(&hints).is_some());
            if password_sent && asks_password {
                bail!(
                    "{CANNOT_DRIVE}the IdP showed its login form again after the test user's credentials: check the profile's [user] username and password ({})",
                    page.summary()
                );
            }
            let username_step = forms
                .iter()
                .find(|f| f.has_field(&hints.username_field) && f.password_field(&hints).is_none())
                .cloned();
            let password_step = forms
                .iter()
                .find(|f| f.password_field(&hints).is_some())
                .cloned();
            let extra = |form: &mut crate::conformance::Form| {
                for (name, value) in &profile.form.extra {
                    if form.has_field(name) {
                        form.set(name, value);
                    }
                }
            };
            landing = if let Some(mut form) = login {
                password_sent = true;
                let field = form.password_field(&hints).unwrap_or_default();
                form.set(&hints.username_field, &profile.user.username);
                form.set(&field, &password);
                extra(&mut form);
                let pressed = form.buttons.first().cloned();
                self.agent.submit(&form, pressed.as_ref()).await?
            } else if let Some(mut form) = username_step {
                // The first page of a two-step login.
                form.set(&hints.username_field, &profile.user.username);
                extra(&mut form);
                let pressed = form.buttons.first().cloned();
                self.agent.submit(&form, pressed.as_ref()).await?
            } else if let Some(mut form) = password_step {
                let field = form.password_field(&hints).unwrap_or_default();
                form.set(&field, &password);
                extra(&mut form);
                password_sent = true;
                let pressed = form.buttons.first().cloned();
                self.agent.submit(&form, pressed.as_ref()).await?
            } else if page.form_with_button(&hints.allow_button)?.is_some() {
                self.agent.allow_consent(&page).await?
            } else if let Some(url) = page.meta_refresh() {
                self.agent.open(&url).await?
            } else if let [form] = forms.as_slice()
                && !form.fields.is_empty()
                && form.fields.iter().all(|f| f.kind == "hidden")
            {
                // A form a script submits on load (form_post, a
                // "continue" page): submit it as the browser would.
                self.agent.submit(form, None).await?
            } else {
                let hint = if forms.is_empty() && page.has_scripts() {
                    ": this page has no form but runs scripts; it needs JavaScript (use --browser chromium)"
                } else {
                    ": check the profile's [form] hints (username_field, password_field, allow_button)"
                };
                bail!(
                    "{CANNOT_DRIVE}the gate cannot get past the IdP's page {}{hint}",
                    page.summary()
                );
            };
        }
        Ok(landing)
    }

    /// Ask the bot, open the link, sign in: the IdP's redirect is kept.
    pub async fn sign_in_through_bot(&mut self) -> anyhow::Result<()> {
        let (_, link) = self.say("my account").await?;
        let link = link.ok_or_else(|| anyhow!("the bot sent no sign-in link"))?;
        let landing = self.open(&link).await?;
        let landing = self.through_idp(landing).await?;
        self.callback = landing.callback().cloned();
        let described = landing.describe();
        self.landing = Some(landing);
        if self.callback.is_none() {
            bail!("signing in did not bring the consumer back to the redirect URI: {described}");
        }
        Ok(())
    }

    /// Deliver the IdP's redirect to the embedded platform.
    pub async fn deliver_callback(&mut self) -> anyhow::Result<(u16, String)> {
        let callback = self
            .callback
            .clone()
            .ok_or_else(|| anyhow!("the IdP has not redirected to the redirect URI"))?;
        let (local, public) = {
            let p = self.platform().await?;
            (p.local.clone(), p.public.clone())
        };
        let url = callback.url.as_str();
        let rest = url.strip_prefix(&public).ok_or_else(|| {
            anyhow!(
                "the redirect went to {}, not under {public}",
                callback.url_without_query()
            )
        })?;
        let response = self
            .ctx
            .platform_http
            .get(format!("{local}{rest}"))
            .send()
            .await
            // The URL carries the code and state: never in a message.
            .map_err(|e| {
                anyhow!(
                    "the embedded platform did not answer the callback: {}",
                    e.without_url()
                )
            })?;
        let status = response.status().as_u16();
        let html = response.text().await.unwrap_or_default();
        let title = scraper::Html::parse_document(&html)
            .select(&scraper::Selector::parse("h1").expect("a valid selector"))
            .next()
            .map(|h| h.text().collect::<String>())
            .unwrap_or_default();
        self.page = Some((status, title.clone()));
        Ok((status, title))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callback_of_a_redirect_uri_names_the_account_and_the_public_base() {
        let (org, public) = callback_parts(
            &Url::parse("https://bot.example/base/callback/acme/redirectCode").unwrap(),
        )
        .unwrap();
        assert_eq!(
            (org.as_str(), public.as_str()),
            ("acme", "https://bot.example/base")
        );
        for bad in [
            "https://bot.example/cb",
            "https://bot.example/callback//redirectCode",
            "https://bot.example/callback/acme/redirectCode?x=1",
            "https://bot.example/callback/acme/other",
        ] {
            let e = callback_parts(&Url::parse(bad).unwrap()).unwrap_err();
            assert!(e.contains("/callback/<account>/redirectCode"), "{bad}: {e}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_redirect_uri_is_judged_without_panicking(path in "[a-zA-Z0-9/._~-]{0,60}") {
            if let Ok(url) = Url::parse(&format!("http://127.0.0.1:8402/{path}")) {
                let _ = callback_parts(&url);
            }
        }
    }
}
