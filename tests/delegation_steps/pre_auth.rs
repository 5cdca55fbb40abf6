//! Consumer Pre-Authentication and the Get Tokens API, end to end.
//!
//! The consumer signs in on the brand's website: the brand's page sends a
//! fresh browser ([`ConsumerAgent`], one per consumer) to the IdP's
//! authorization endpoint with the platform's client id, its own page as
//! `redirect_uri`, PKCE and a nonce; the IdP sends the browser back to that
//! page with a code, and the page hands the code to the platform
//! (`POST /api/account/{account}/consumer/sessions`), which answers the
//! consumer id and the session's handle (`session_token`). Conversations
//! the brand's messaging client opens with that handle
//! (`"consumer_session"`) then use the kept tokens; a conversation that
//! only names the consumer id gets none. Brand services read the tokens
//! through the Get Tokens API with a token from the platform's
//! `POST /oauth/token`.
//!
//! Nothing here prints a code, a verifier, a handle or a token: answers
//! keep their bodies out of `Debug`, tokens and handles are [`Secret`]s.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context as _, anyhow, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cucumber::{given, then, when};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use standin::conformance::{ConsumerAgent, FormHints, Landing};
use standin::idp::admin::TokenState;
use standin::idp::state::Grant;
use standin::idp::{Endpoint, Fault, Fixtures};
use standin::platform::OrgId;
use standin::secret::{Secret, random_token};
use url::Url;

use super::vault::encode;
use super::{CLIENT_ID, Conversation, DelegationWorld};

/// The brand's page the IdP sends the consumer back to (registered with
/// the platform's client at the IdP). The browser stops there: the page
/// itself is the brand's, not part of the scenario.
pub const BRAND_PAGE: &str = "https://www.brand.example/account/signed-in";

/// What the brand's page asks for.
const SCOPE: &str = "openid profile offline_access orders:read";

/// The account the brand's page and services belong to by default.
const ACCOUNT: &str = "demo";

/// The client secrets of the suite's brand services (platform fixtures).
fn service_secret(client_id: &str) -> &'static str {
    match client_id {
        "orders-service" => "orders-service-secret-0001",
        "reports-service" => "reports-service-secret-0001",
        "other-service" => "other-service-secret-00001",
        _ => "no-such-service-secret",
    }
}

/// One answer of the platform. `Debug` shows the status, the headers that
/// matter and the body's `error`, never the body's values.
#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub www_authenticate: Option<String>,
    pub cache_control: Option<String>,
    pub body: Value,
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&String> = self
            .body
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("www_authenticate", &self.www_authenticate)
            .field("cache_control", &self.cache_control)
            .field("error", &self.body.get("error"))
            .field("fields", &keys)
            .finish()
    }
}

impl Answer {
    async fn of(response: reqwest::Response) -> anyhow::Result<Self> {
        let status = response.status().as_u16();
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let www_authenticate = header(reqwest::header::WWW_AUTHENTICATE);
        let cache_control = header(reqwest::header::CACHE_CONTROL);
        let text = response.text().await.unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .with_context(|| format!("a {status} answer that is not JSON"))?
        };
        Ok(Self {
            status,
            www_authenticate,
            cache_control,
            body,
        })
    }

    fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }

    fn expect(&self, status: u16, error: &str) -> anyhow::Result<()> {
        ensure!(
            self.status == status && (error.is_empty() || self.error() == error),
            "expected {status} {error:?}, the platform answered {} {:?}: {}",
            self.status,
            self.error(),
            self.body["error_description"]
        );
        if status >= 400 {
            ensure!(
                self.body["error_description"]
                    .as_str()
                    .is_some_and(|d| d.len() > 10),
                "the {status} answer does not say why: {self:?}"
            );
        }
        Ok(())
    }
}

/// A code the brand's page got, with what it needs to hand it over.
struct SignIn {
    username: String,
    code: Secret,
    verifier: Secret,
    nonce: Secret,
}

/// What the scenarios of this module remember.
#[derive(Default)]
pub struct PreAuthScenario {
    /// Consumer ids the platform answered, by user name.
    pub consumers: BTreeMap<String, String>,
    /// The session handles the platform answered, by user name, oldest
    /// first.
    session_tokens: BTreeMap<String, Vec<Secret>>,
    /// Answers to conversation openings that presented a session handle,
    /// oldest first.
    open_answers: Vec<Answer>,
    last_sign_in: Option<SignIn>,
    /// The last answer of the consumer session API.
    pub session_answer: Option<Answer>,
    /// Tokens the platform issued to brand services, by client id.
    service_tokens: BTreeMap<String, Secret>,
    /// The last answer of the platform's token endpoint.
    pub token_answer: Option<Answer>,
    /// The Get Tokens answers, oldest first (several for concurrent reads).
    tokens_answers: Vec<Answer>,
    /// How many answers the last read (or concurrent reads) produced.
    last_reads: usize,
    /// Conversations opened for signed-in consumers: index → user name.
    conversation_consumers: BTreeMap<usize, String>,
    /// Conversations that speak at the same moment.
    concurrent: Vec<usize>,
    /// Replies to concurrent messages: (text, has a link).
    concurrent_replies: Vec<(String, bool)>,
}

impl fmt::Debug for PreAuthScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreAuthScenario")
            .field("consumers", &self.consumers)
            .field("session_tokens", &self.session_tokens.keys())
            .field("open_answers", &self.open_answers)
            .field(
                "last_sign_in",
                &self.last_sign_in.as_ref().map(|s| &s.username),
            )
            .field("session_answer", &self.session_answer)
            .field("service_tokens", &self.service_tokens.keys())
            .field("token_answer", &self.token_answer)
            .field("tokens_answers", &self.tokens_answers)
            .field("conversation_consumers", &self.conversation_consumers)
            .field("concurrent", &self.concurrent)
            .field("concurrent_replies", &self.concurrent_replies)
            .finish()
    }
}

/// The `sub` and password of a fixture user of the IdP.
fn user(username: &str) -> anyhow::Result<(String, String)> {
    Fixtures::default_brand()
        .users
        .iter()
        .find(|u| u.username == username)
        .map(|u| (u.sub().to_string(), u.password.expose().to_string()))
        .ok_or_else(|| anyhow!("the IdP has no user {username:?}"))
}

fn sub_of(username: &str) -> anyhow::Result<String> {
    user(username).map(|(sub, _)| sub)
}

/// The claims of a JWT, unverified (the platform verified it; the
/// scenario only reads whose it is).
fn jwt_claims(jwt: &str) -> anyhow::Result<Value> {
    let payload = jwt.split('.').nth(1).ok_or_else(|| anyhow!("not a JWT"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .context("the JWT payload is not base64url")?;
    serde_json::from_slice(&bytes).context("the JWT payload is not JSON")
}

impl DelegationWorld {
    /// The brand's page signs `username` in at the IdP in a fresh browser
    /// and gets a code back at [`BRAND_PAGE`].
    async fn brand_page_sign_in(&mut self, username: &str) -> anyhow::Result<SignIn> {
        let (_, password) = user(username)?;
        let discovery = self
            .get_absolute(&format!(
                "{}/.well-known/openid-configuration",
                self.idp.issuer().trim_end_matches('/')
            ))
            .await?;
        let endpoint = discovery["authorization_endpoint"]
            .as_str()
            .ok_or_else(|| anyhow!("the IdP's discovery names no authorization endpoint"))?;
        let verifier = random_token(32);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let nonce = random_token(16);
        let state = random_token(16);
        let mut url = Url::parse(endpoint).context("the authorization endpoint is not a URL")?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", CLIENT_ID)
            .append_pair("redirect_uri", BRAND_PAGE)
            .append_pair("scope", SCOPE)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let mut browser = ConsumerAgent::new(FormHints::default()).context("a browser")?;
        browser.stop_at(BRAND_PAGE);
        let mut landing = browser.open(&url).await?;
        for _ in 0..3 {
            let Landing::Page(page) = &landing else { break };
            landing = if matches!(page.login_form(browser.hints()), Ok(Some(_))) {
                browser.sign_in(page, username, &password).await?
            } else if matches!(
                page.form_with_button(&browser.hints().allow_button),
                Ok(Some(_))
            ) {
                browser.allow_consent(page).await?
            } else {
                break;
            };
        }
        let callback = landing.callback().ok_or_else(|| {
            anyhow!(
                "the IdP did not send {username} back to the brand's page: {}",
                landing.describe()
            )
        })?;
        ensure!(
            callback.url_without_query() == BRAND_PAGE,
            "the IdP sent the browser to {}, not the brand's page",
            callback.url_without_query()
        );
        ensure!(
            callback.get("state") == Some(state.as_str()),
            "the brand's page got back another state"
        );
        let code = callback
            .get("code")
            .ok_or_else(|| anyhow!("the brand's page got no code: {}", landing.describe()))?;
        Ok(SignIn {
            username: username.to_string(),
            code: Secret::new(code),
            verifier: Secret::new(verifier),
            nonce: Secret::new(nonce),
        })
    }

    /// `GET` a JSON document at an absolute URL.
    async fn get_absolute(&self, url: &str) -> anyhow::Result<Value> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        ensure!(
            response.status() == 200,
            "GET {url} answered {}",
            response.status()
        );
        response
            .json()
            .await
            .with_context(|| format!("GET {url}: not JSON"))
    }

    /// The brand's page hands a code to the platform.
    async fn hand_over(&mut self, account: &str, body: Value) -> anyhow::Result<Answer> {
        let response = self
            .http
            .post(self.url(&format!("/api/account/{account}/consumer/sessions")))
            .json(&body)
            .send()
            .await
            .context("the platform did not answer the consumer session start")?;
        let answer = Answer::of(response).await?;
        self.pre_auth.session_answer = Some(answer.clone());
        if answer.status == 201
            && let (Some(sign_in), Some(id)) = (
                &self.pre_auth.last_sign_in,
                answer.body["consumer_id"].as_str(),
            )
        {
            self.pre_auth
                .consumers
                .insert(sign_in.username.clone(), id.to_string());
            if let Some(handle) = answer.body["session_token"].as_str() {
                self.pre_auth
                    .session_tokens
                    .entry(sign_in.username.clone())
                    .or_default()
                    .push(Secret::new(handle));
            }
        }
        Ok(answer)
    }

    /// Sign `username` in on the brand's website of `account`; `tamper`
    /// changes the body the page hands over.
    async fn sign_in_on_brand_site(
        &mut self,
        username: &str,
        account: &str,
        tamper: impl FnOnce(&mut Value),
    ) -> anyhow::Result<Answer> {
        let sign_in = self.brand_page_sign_in(username).await?;
        let mut body = json!({
            "code": sign_in.code.expose(),
            "redirect_uri": BRAND_PAGE,
            "code_verifier": sign_in.verifier.expose(),
            "nonce": sign_in.nonce.expose(),
        });
        tamper(&mut body);
        self.pre_auth.last_sign_in = Some(sign_in);
        self.hand_over(account, body).await
    }

    fn consumer_id(&self, username: &str) -> anyhow::Result<String> {
        match self.pre_auth.consumers.get(username) {
            Some(id) => Ok(id.clone()),
            None => sub_of(username),
        }
    }

    /// The `back`-th latest session handle the platform answered for
    /// `username` (0: the current one).
    fn session_token(&self, username: &str, back: usize) -> anyhow::Result<Secret> {
        self.pre_auth
            .session_tokens
            .get(username)
            .and_then(|all| all.iter().rev().nth(back))
            .cloned()
            .ok_or_else(|| anyhow!("the platform answered no such session token for {username}"))
    }

    /// The brand's messaging client opens a conversation with the demo bot
    /// in `account`, presenting `handle` (and `consumer_id`, if given).
    /// The answer is kept; a 201 adds the conversation to the scenario's.
    async fn open_with_session(
        &mut self,
        label: &str,
        account: &str,
        handle: &Secret,
        consumer_id: Option<&str>,
    ) -> anyhow::Result<Option<usize>> {
        let mut body = json!({
            "org": account,
            "bot": "demo-bot",
            "consumer_session": handle.expose(),
        });
        if let Some(id) = consumer_id {
            body["consumer_id"] = Value::String(id.to_string());
        }
        let response = self
            .http
            .post(self.url("/api/conversations"))
            .json(&body)
            .send()
            .await
            .context("the platform did not answer POST /api/conversations")?;
        let answer = Answer::of(response).await?;
        self.pre_auth.open_answers.push(answer.clone());
        if answer.status != 201 {
            return Ok(None);
        }
        ensure!(
            answer.body["authenticated"] == true,
            "a conversation opened with a session token is not authenticated: {answer:?}"
        );
        let id = answer.body["id"]
            .as_str()
            .ok_or_else(|| anyhow!("no conversation id in the answer: {answer:?}"))?
            .to_string();
        self.conversations.push(Conversation {
            label: label.to_string(),
            id,
            org: account.to_string(),
            links: Vec::new(),
        });
        Ok(Some(self.conversations.len() - 1))
    }

    /// Open a conversation of `username` in the demo account with the
    /// current session handle; it must be accepted.
    async fn open_signed_in(&mut self, label: &str, username: &str) -> anyhow::Result<usize> {
        let handle = self.session_token(username, 0)?;
        let index = self
            .open_with_session(label, ACCOUNT, &handle, None)
            .await?
            .ok_or_else(|| {
                anyhow!(
                    "the platform refused {username}'s session token: {:?}",
                    self.pre_auth.open_answers.last()
                )
            })?;
        self.pre_auth
            .conversation_consumers
            .insert(index, username.to_string());
        Ok(index)
    }

    /// The transcript, events and context of every conversation the
    /// scenario opened, as the platform's API shows them.
    async fn conversation_reads(&self) -> anyhow::Result<Vec<String>> {
        let mut reads = Vec::new();
        for c in &self.conversations {
            for what in ["transcript", "events", "context"] {
                let path = format!("/api/conversations/{}/{what}", c.id);
                reads.push(self.get_json(&path).await?.to_string());
            }
        }
        Ok(reads)
    }

    fn live_consumers(&self) -> anyhow::Result<Vec<String>> {
        let state = self.platform.state();
        let org = OrgId::parse(ACCOUNT).map_err(|e| anyhow!(e))?;
        Ok(state
            .consumer_sessions
            .consumers(&org, self.clock.now())
            .iter()
            .map(|c| c.as_str().to_string())
            .collect())
    }

    /// Accesses tokens the IdP issued by refreshing, and refresh requests
    /// it saw.
    fn refreshes(&self) -> anyhow::Result<(usize, u32)> {
        let grants = self.idp.control()?.grants();
        let issued = grants
            .access_tokens
            .iter()
            .filter(|a| a.grant == Grant::RefreshToken && a.client_id == CLIENT_ID)
            .count();
        let presented = grants.refresh_tokens.iter().map(|r| r.presented).sum();
        Ok((issued, presented))
    }

    /// A request to the platform's token endpoint.
    fn token_request(&self) -> reqwest::RequestBuilder {
        self.http
            .post(self.url("/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
    }

    async fn read_tokens(
        &mut self,
        bearer: Option<&str>,
        account: &str,
        consumer_id: &str,
    ) -> anyhow::Result<()> {
        let path = format!(
            "/api/account/{account}/consumer/{}/brand/tokens",
            encode(consumer_id)
        );
        let mut request = self.http.get(self.url(&path));
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request
            .send()
            .await
            .context("the Get Tokens API did not answer")?;
        let answer = Answer::of(response).await?;
        self.pre_auth.tokens_answers.push(answer);
        self.pre_auth.last_reads = 1;
        Ok(())
    }

    fn service_token(&self, client_id: &str) -> anyhow::Result<String> {
        self.pre_auth
            .service_tokens
            .get(client_id)
            .map(|t| t.expose().to_string())
            .ok_or_else(|| anyhow!("the brand service {client_id} has no token from the platform"))
    }

    fn last_tokens_answer(&self) -> anyhow::Result<&Answer> {
        self.pre_auth
            .tokens_answers
            .last()
            .ok_or_else(|| anyhow!("nobody has called the Get Tokens API yet"))
    }
}

// --- the credential ----------------------------------------------------------

#[given(expr = "the organisation {string} has the Consumer Pre-Authentication credential {string}")]
async fn has_credential(
    world: &mut DelegationWorld,
    org: String,
    name: String,
) -> anyhow::Result<()> {
    let body = json!({ "type": "consumer_pre_authentication", "name": name }).to_string();
    let (status, answer) = world
        .credential_request(
            reqwest::Method::POST,
            &format!("/api/orgs/{org}/credentials"),
            Some(&body),
        )
        .await?;
    ensure!(
        status == 201,
        "the credential was not saved ({status}): {answer}"
    );
    Ok(())
}

// --- signing in on the brand's website -----------------------------------------

#[given(expr = "{string} has signed in on the brand's website")]
async fn has_signed_in(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let answer = world
        .sign_in_on_brand_site(&username, ACCOUNT, |_| {})
        .await?;
    answer.expect(201, "")?;
    let expected = sub_of(&username)?;
    ensure!(
        answer.body["consumer_id"] == expected.as_str(),
        "the platform answered the consumer id {}, the IdP's sub is {expected}",
        answer.body["consumer_id"]
    );
    Ok(())
}

#[when(expr = "{string} signs in on the brand's website")]
async fn signs_in(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    world
        .sign_in_on_brand_site(&username, ACCOUNT, |_| {})
        .await
        .map(drop)
}

#[when(expr = "{string} signs in on the brand's website of account {string}")]
async fn signs_in_account(
    world: &mut DelegationWorld,
    username: String,
    account: String,
) -> anyhow::Result<()> {
    world
        .sign_in_on_brand_site(&username, &account, |_| {})
        .await
        .map(drop)
}

#[when(expr = "{string} signs in on the brand's website but the page hands over another {word}")]
async fn signs_in_tampered(
    world: &mut DelegationWorld,
    username: String,
    what: String,
) -> anyhow::Result<()> {
    let field = match what.as_str() {
        "verifier" => "code_verifier",
        "nonce" => "nonce",
        other => anyhow::bail!("the page hands over a verifier or a nonce, not {other:?}"),
    };
    let replacement = random_token(32);
    world
        .sign_in_on_brand_site(&username, ACCOUNT, |body| {
            body[field] = Value::String(replacement);
        })
        .await
        .map(drop)
}

#[when("the brand's page hands the same code to the platform again")]
async fn same_code_again(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let sign_in = world
        .pre_auth
        .last_sign_in
        .as_ref()
        .ok_or_else(|| anyhow!("nobody signed in on the brand's website yet"))?;
    let body = json!({
        "code": sign_in.code.expose(),
        "redirect_uri": BRAND_PAGE,
        "code_verifier": sign_in.verifier.expose(),
        "nonce": sign_in.nonce.expose(),
    });
    world.hand_over(ACCOUNT, body).await.map(drop)
}

#[then(expr = "the platform starts a consumer session for {string}")]
fn session_started(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let answer = world
        .pre_auth
        .session_answer
        .as_ref()
        .ok_or_else(|| anyhow!("no code was handed to the platform"))?;
    answer.expect(201, "")?;
    ensure!(
        answer.cache_control.as_deref() == Some("no-store"),
        "the answer may be cached: {answer:?}"
    );
    ensure!(
        answer.body["consumer_id"] == sub_of(&username)?.as_str(),
        "the session is for {}",
        answer.body["consumer_id"]
    );
    let ttl = world.platform.state().options.consumer_session_ttl_secs;
    let ends = answer.body["expires_at"].as_i64().unwrap_or_default() - world.clock.now();
    ensure!(
        (ttl - 1..=ttl).contains(&ends),
        "the session ends in {ends} seconds, expected {ttl}"
    );
    let keys: Vec<&String> = answer
        .body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    ensure!(
        keys == ["consumer_id", "expires_at", "session_token"],
        "the answer carries more than the consumer id, the session's end and its handle: {keys:?}"
    );
    let handle = answer.body["session_token"].as_str().unwrap_or_default();
    let decoded = URL_SAFE_NO_PAD.decode(handle).unwrap_or_default();
    ensure!(
        decoded.len() >= 32,
        "the session token is not 256 bits or more of base64url"
    );
    ensure!(
        world.idp.control()?.grants().access_token(handle).is_none()
            && world
                .idp
                .control()?
                .grants()
                .refresh_token(handle)
                .is_none(),
        "the session token is a token of the IdP's"
    );
    Ok(())
}

#[then(expr = "the platform refuses the sign-in with {int} {string}")]
fn sign_in_refused(world: &mut DelegationWorld, status: u16, error: String) -> anyhow::Result<()> {
    let answer = world
        .pre_auth
        .session_answer
        .as_ref()
        .ok_or_else(|| anyhow!("no code was handed to the platform"))?;
    answer.expect(status, &error)
}

#[then("the code of the sign-in was never presented to the IdP")]
fn code_not_presented(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let sign_in = world
        .pre_auth
        .last_sign_in
        .as_ref()
        .ok_or_else(|| anyhow!("nobody signed in on the brand's website yet"))?;
    let grants = world.idp.control()?.grants();
    let code = grants
        .code(sign_in.code.expose())
        .ok_or_else(|| anyhow!("the IdP does not list the code"))?;
    ensure!(
        code.presented == 0,
        "the code was presented {} times",
        code.presented
    );
    Ok(())
}

#[when(expr = "the brand ends the consumer session of {string}")]
async fn end_session(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let id = world.consumer_id(&username)?;
    let response = world
        .http
        .delete(world.url(&format!(
            "/api/account/{ACCOUNT}/consumer/{}/session",
            encode(&id)
        )))
        .send()
        .await
        .context("the platform did not answer the session end")?;
    world.pre_auth.session_answer = Some(Answer::of(response).await?);
    Ok(())
}

#[then(expr = "ending the session is answered {int}")]
fn end_answered(world: &mut DelegationWorld, status: u16) -> anyhow::Result<()> {
    let answer = world
        .pre_auth
        .session_answer
        .as_ref()
        .ok_or_else(|| anyhow!("no session was ended"))?;
    let error = if status == 404 { "not_found" } else { "" };
    answer.expect(status, error)
}

#[when("the consumer session's lifetime passes")]
fn lifetime_passes(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let ttl = world.platform.state().options.consumer_session_ttl_secs;
    world
        .clock
        .advance(std::time::Duration::from_secs(u64::try_from(ttl)? + 1));
    Ok(())
}

#[then(expr = "the platform keeps tokens for the consumers {string}")]
fn keeps_tokens_for(world: &mut DelegationWorld, usernames: String) -> anyhow::Result<()> {
    let mut want = usernames
        .split(',')
        .map(|u| sub_of(u.trim()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    want.sort();
    let got = world.live_consumers()?;
    ensure!(
        got == want,
        "the platform keeps tokens for {got:?}, expected {want:?}"
    );
    Ok(())
}

#[then(expr = "the platform keeps no tokens for {string}")]
fn keeps_no_tokens_for(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let sub = sub_of(&username)?;
    let got = world.live_consumers()?;
    ensure!(
        !got.contains(&sub),
        "the platform still keeps tokens for {username}"
    );
    Ok(())
}

// --- conversations of signed-in consumers ---------------------------------------

#[given(
    expr = "a conversation {string} with the demo bot opened with the session token of {string}"
)]
#[when(
    expr = "a conversation {string} with the demo bot is opened with the session token of {string}"
)]
async fn open_named_for(
    world: &mut DelegationWorld,
    label: String,
    username: String,
) -> anyhow::Result<()> {
    let index = world.open_signed_in(&label, &username).await?;
    if index == 0 {
        world.current = index;
    }
    Ok(())
}

#[given(expr = "a conversation with the demo bot opened with the session token of {string}")]
async fn open_for(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    world.current = world.open_signed_in("main", &username).await?;
    Ok(())
}

#[given(expr = "{int} conversations with the demo bot opened with the session token of {string}")]
async fn open_many_for(
    world: &mut DelegationWorld,
    count: usize,
    username: String,
) -> anyhow::Result<()> {
    for n in 1..=count {
        let index = world
            .open_signed_in(&format!("{username} {n}"), &username)
            .await?;
        world.pre_auth.concurrent.push(index);
    }
    Ok(())
}

#[given(
    expr = "a conversation with the demo bot claiming the consumer id of {string} without a session token"
)]
async fn open_claiming(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let id = world.consumer_id(&username)?;
    world.current = world
        .open_conversation("claimed", ACCOUNT, Some(&id))
        .await?;
    Ok(())
}

#[when(
    expr = "a conversation with the demo bot in organisation {string} is opened with the {word} session token of {string}"
)]
async fn open_with_token_of(
    world: &mut DelegationWorld,
    account: String,
    which: String,
    username: String,
) -> anyhow::Result<()> {
    let back = match which.as_str() {
        "current" => 0,
        "previous" => 1,
        other => anyhow::bail!("a session token is current or previous, not {other:?}"),
    };
    let handle = world.session_token(&username, back)?;
    let label = format!("{username} in {account}");
    if let Some(index) = world
        .open_with_session(&label, &account, &handle, None)
        .await?
    {
        world.current = index;
    }
    Ok(())
}

#[when(
    expr = "a conversation with the demo bot is opened with the session token of {string} and the consumer id of {string}"
)]
async fn open_with_token_and_id(
    world: &mut DelegationWorld,
    username: String,
    claimed: String,
) -> anyhow::Result<()> {
    let handle = world.session_token(&username, 0)?;
    let id = world.consumer_id(&claimed)?;
    world
        .open_with_session("mixed", ACCOUNT, &handle, Some(&id))
        .await
        .map(drop)
}

#[when("a conversation with the demo bot is opened with a session token the platform never issued")]
async fn open_with_unknown_token(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let handle = Secret::new(random_token(32));
    world
        .open_with_session("unknown", ACCOUNT, &handle, None)
        .await
        .map(drop)
}

#[then(expr = "opening the conversation is refused with {int} {string}")]
fn open_refused(world: &mut DelegationWorld, status: u16, error: String) -> anyhow::Result<()> {
    let answer = world
        .pre_auth
        .open_answers
        .last()
        .ok_or_else(|| anyhow!("no conversation was opened with a session token"))?;
    answer.expect(status, &error)?;
    ensure!(
        answer.body.get("id").is_none(),
        "a refused opening names a conversation"
    );
    Ok(())
}

#[then(expr = "the {int} openings were all refused with the same answer, {int} {string}")]
fn same_refusals(
    world: &mut DelegationWorld,
    count: usize,
    status: u16,
    error: String,
) -> anyhow::Result<()> {
    let answers = &world.pre_auth.open_answers;
    ensure!(
        answers.len() == count,
        "{} conversations were opened with a session token, not {count}",
        answers.len()
    );
    for a in answers {
        a.expect(status, &error)?;
        ensure!(
            a.body == answers[0].body,
            "two refusals differ, so one says why: {:?} and {:?}",
            answers[0].body["error_description"],
            a.body["error_description"]
        );
    }
    Ok(())
}

#[then(expr = "the conversation is authenticated for {string}")]
async fn authenticated_for(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let sub = sub_of(&username)?;
    let id = world.conversation(world.current)?.id.clone();
    let transcript = world
        .get_json(&format!("/api/conversations/{id}/transcript"))
        .await?;
    ensure!(
        transcript["authenticated"] == true && transcript["consumer_id"] == sub.as_str(),
        "the conversation is for {} (authenticated: {})",
        transcript["consumer_id"],
        transcript["authenticated"]
    );
    Ok(())
}

#[then("the conversation is not authenticated")]
async fn not_authenticated(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let id = world.conversation(world.current)?.id.clone();
    let transcript = world
        .get_json(&format!("/api/conversations/{id}/transcript"))
        .await?;
    ensure!(
        transcript["authenticated"] == false,
        "a conversation opened without a session token is authenticated"
    );
    Ok(())
}

#[then(expr = "the brand API received no request with a token of {string}")]
fn no_request_as(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let sub = sub_of(&username)?;
    let grants = world.idp.control()?.grants();
    let theirs: Vec<&str> = grants
        .access_tokens
        .iter()
        .filter(|a| a.sub.as_deref() == Some(sub.as_str()))
        .map(|a| a.id.as_str())
        .collect();
    ensure!(
        !theirs.is_empty(),
        "the IdP issued {username} no access token: the scenario proves nothing"
    );
    for entry in world.api.control().requests() {
        ensure!(
            entry.sub.as_deref() != Some(sub.as_str())
                && entry
                    .token_id
                    .as_deref()
                    .is_none_or(|t| !theirs.contains(&t)),
            "the brand API received a request with a token of {username}: {entry:?}"
        );
    }
    Ok(())
}

#[then(expr = "no session token of {string} is in a log line, a conversation read or a refusal")]
async fn handle_nowhere(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let handles = world
        .pre_auth
        .session_tokens
        .get(&username)
        .cloned()
        .unwrap_or_default();
    ensure!(
        !handles.is_empty(),
        "the platform answered {username} no session token"
    );
    ensure!(
        !world.pre_auth.open_answers.is_empty(),
        "no conversation was opened with a session token"
    );
    let logs = super::runner::logs();
    ensure!(!logs.is_empty(), "no log line was captured: logging is off");
    let reads = world.conversation_reads().await?;
    ensure!(!reads.is_empty(), "the scenario opened no conversation");
    for handle in &handles {
        let handle = handle.expose();
        ensure!(
            !logs.lines().any(|l| l.contains(handle)),
            "a log line holds a session token of {username}"
        );
        ensure!(
            !reads.iter().any(|r| r.contains(handle)),
            "a conversation read holds a session token of {username}"
        );
        ensure!(
            !world
                .pre_auth
                .open_answers
                .iter()
                .any(|a| a.body.to_string().contains(handle)),
            "an answer to a conversation opening holds a session token of {username}"
        );
    }
    Ok(())
}

#[when(expr = "the consumer says {string} in the {int} conversations at the same moment")]
async fn say_concurrently(
    world: &mut DelegationWorld,
    text: String,
    count: usize,
) -> anyhow::Result<()> {
    ensure!(
        world.pre_auth.concurrent.len() == count,
        "the scenario opened {} such conversations, not {count}",
        world.pre_auth.concurrent.len()
    );
    let sends = world.pre_auth.concurrent.iter().map(|index| {
        let id = world.conversations[*index].id.clone();
        let request = world
            .http
            .post(world.url(&format!("/api/conversations/{id}/messages")))
            .json(&json!({ "text": text }));
        async move {
            let response = request.send().await.context("a message was not answered")?;
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or_default();
            ensure!(status == 200, "a message was answered {status}: {body}");
            let reply = &body["replies"][0];
            Ok::<_, anyhow::Error>((
                reply["text"].as_str().unwrap_or_default().to_string(),
                reply.get("link").is_some(),
            ))
        }
    });
    let replies = futures::future::join_all(sends).await;
    world.pre_auth.concurrent_replies = replies.into_iter().collect::<anyhow::Result<_>>()?;
    Ok(())
}

#[then(expr = "every one of them gets {string} without a link")]
fn every_reply(world: &mut DelegationWorld, expected: String) -> anyhow::Result<()> {
    ensure!(
        !world.pre_auth.concurrent_replies.is_empty(),
        "no concurrent messages were sent"
    );
    for (text, link) in &world.pre_auth.concurrent_replies {
        ensure!(
            text == &expected && !link,
            "a conversation got {text:?} (link: {link})"
        );
    }
    Ok(())
}

#[then(expr = "the bot answers {string} without a link")]
fn answers_text_without_link(world: &mut DelegationWorld, expected: String) -> anyhow::Result<()> {
    let reply = world.reply()?;
    ensure!(
        reply.text == expected && reply.link.is_none(),
        "the bot answered {:?}{}",
        reply.text,
        if reply.link.is_some() {
            " with a link"
        } else {
            ""
        }
    );
    Ok(())
}

#[then("the brand API served each conversation with its own consumer's token")]
fn served_own_tokens(world: &mut DelegationWorld) -> anyhow::Result<()> {
    ensure!(
        !world.api_requests.is_empty(),
        "the brand API received no request"
    );
    let mut tokens: BTreeMap<String, String> = BTreeMap::new();
    for (index, entry) in &world.api_requests {
        let username = world
            .pre_auth
            .conversation_consumers
            .get(index)
            .ok_or_else(|| {
                anyhow!("a request came from a conversation of no signed-in consumer")
            })?;
        let sub = sub_of(username)?;
        ensure!(
            entry.status == 200 && entry.sub.as_deref() == Some(sub.as_str()),
            "a request of {username}'s conversation was not served as {username}: {entry:?}"
        );
        let token = entry
            .token_id
            .clone()
            .ok_or_else(|| anyhow!("a request carried no token: {entry:?}"))?;
        if let Some((other, _)) = tokens.iter().find(|(u, t)| *u != username && **t == token) {
            anyhow::bail!("{username} and {other} were served with the same token");
        }
        tokens.insert(username.clone(), token);
    }
    Ok(())
}

// --- the IdP's side of refreshing ----------------------------------------------

#[given(expr = "the IdP's token endpoint answers {int} ms late once")]
fn token_endpoint_slow(world: &mut DelegationWorld, delay_ms: u64) -> anyhow::Result<()> {
    world
        .idp
        .control()?
        .push_fault(Endpoint::Token, Fault::Delay { delay_ms }, 1)
        .map_err(|e| anyhow!("the IdP refused the fault: {e}"))
}

#[given(expr = "the IdP refuses the next refresh with {string}")]
fn refresh_refused(world: &mut DelegationWorld, error: String) -> anyhow::Result<()> {
    world
        .idp
        .control()?
        .push_fault(
            Endpoint::Token,
            Fault::Status {
                status: 400,
                body: json!({ "error": error }).to_string(),
                content_type: "application/json".into(),
            },
            1,
        )
        .map_err(|e| anyhow!("the IdP refused the fault: {e}"))
}

#[then(expr = "the IdP refreshed the consumer's tokens {int} time(s)")]
fn refreshed(world: &mut DelegationWorld, expected: usize) -> anyhow::Result<()> {
    let (issued, presented) = world.refreshes()?;
    ensure!(
        issued == expected && presented as usize == expected,
        "the IdP issued {issued} access tokens by refreshing and saw {presented} refresh requests, expected {expected}"
    );
    Ok(())
}

#[then("each refresh presented the latest rotated refresh token")]
fn rotated_kept(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let grants = world.idp.control()?.grants();
    let refresh: Vec<_> = grants
        .refresh_tokens
        .iter()
        .filter(|r| r.client_id == CLIENT_ID)
        .collect();
    ensure!(
        refresh.len() >= 2,
        "the IdP never rotated a refresh token: {refresh:?}"
    );
    let (last, rotated) = refresh.split_last().expect("two or more");
    for r in rotated {
        ensure!(
            r.presented == 1 && r.state == TokenState::Rotated,
            "a refresh token was presented {} times and is {}: a superseded token was reused",
            r.presented,
            r.state
        );
    }
    ensure!(
        last.presented == 0 && last.state == TokenState::Active,
        "the newest refresh token is {} after {} presentations",
        last.state,
        last.presented
    );
    Ok(())
}

// --- the platform's token endpoint ----------------------------------------------

#[given(expr = "the brand service {string} has a token from the platform")]
#[when(expr = "the brand service {string} gets a token from the platform")]
async fn service_has_token(world: &mut DelegationWorld, client_id: String) -> anyhow::Result<()> {
    let response = world
        .token_request()
        .basic_auth(&client_id, Some(service_secret(&client_id)))
        .body("grant_type=client_credentials")
        .send()
        .await
        .context("the platform's token endpoint did not answer")?;
    let answer = Answer::of(response).await?;
    answer.expect(200, "")?;
    let token = answer.body["access_token"]
        .as_str()
        .ok_or_else(|| anyhow!("the token endpoint answered no access token: {answer:?}"))?;
    world
        .pre_auth
        .service_tokens
        .insert(client_id, Secret::new(token));
    world.pre_auth.token_answer = Some(answer);
    Ok(())
}

#[when(regex = r#"^the brand service "([^"]+)" sends a token request (.+)$"#)]
async fn token_request(
    world: &mut DelegationWorld,
    client_id: String,
    how: String,
) -> anyhow::Result<()> {
    let secret = service_secret(&client_id);
    let grant = "grant_type=client_credentials";
    let post = |id: &str, secret: &str| {
        format!(
            "{grant}&client_id={}&client_secret={}",
            encode(id),
            encode(secret)
        )
    };
    let request = world.token_request();
    let request = match how.as_str() {
        "authenticated by client_secret_basic" => {
            request.basic_auth(&client_id, Some(secret)).body(grant)
        }
        "authenticated by client_secret_post" => request.body(post(&client_id, secret)),
        "with a wrong secret by client_secret_basic" => request
            .basic_auth(&client_id, Some("not-the-secret-of-this-service"))
            .body(grant),
        "with a wrong secret by client_secret_post" => {
            request.body(post(&client_id, "not-the-secret-of-this-service"))
        }
        "from an unknown client" => request
            .basic_auth("no-such-service", Some(secret))
            .body(grant),
        "without client authentication" => request.body(grant),
        "authenticated by both methods" => request
            .basic_auth(&client_id, Some(secret))
            .body(post(&client_id, secret)),
        "for the password grant" => request
            .basic_auth(&client_id, Some(secret))
            .body("grant_type=password&username=alice&password=alice-password"),
        "without a grant type" => request.basic_auth(&client_id, Some(secret)).body("scope="),
        "with a repeated grant type" => request
            .basic_auth(&client_id, Some(secret))
            .body(format!("{grant}&{grant}")),
        "for a scope it may not have" => request.basic_auth(&client_id, Some(secret)).body(
            format!("{grant}&scope=delegated.token.read.external+reports.read"),
        ),
        "with a JSON body" => world
            .http
            .post(world.url("/oauth/token"))
            .basic_auth(&client_id, Some(secret))
            .json(&json!({ "grant_type": "client_credentials" })),
        other => anyhow::bail!("no token request {other:?} is known to this step"),
    };
    let response = request
        .send()
        .await
        .context("the platform's token endpoint did not answer")?;
    world.pre_auth.token_answer = Some(Answer::of(response).await?);
    Ok(())
}

#[then(expr = "the token endpoint answers {int} {string}")]
fn token_answered(world: &mut DelegationWorld, status: u16, error: String) -> anyhow::Result<()> {
    let answer = world
        .pre_auth
        .token_answer
        .as_ref()
        .ok_or_else(|| anyhow!("no token request was sent"))?;
    answer.expect(status, &error)?;
    ensure!(
        answer.cache_control.as_deref() == Some("no-store"),
        "the token endpoint's answer may be cached (RFC 6749 5.1): {answer:?}"
    );
    match status {
        200 => {
            let b = &answer.body;
            ensure!(
                b["token_type"] == "Bearer"
                    && b["scope"] == "delegated.token.read.external"
                    && b["expires_in"] == 600
                    && b["access_token"].as_str().is_some_and(|t| t.len() >= 43),
                "not a client credentials token answer: {answer:?} (scope {}, expires_in {})",
                b["scope"],
                b["expires_in"]
            );
        }
        401 => ensure!(
            answer
                .www_authenticate
                .as_deref()
                .is_some_and(|c| c.starts_with("Basic realm=")),
            "a 401 without a Basic challenge (RFC 6749 5.2): {answer:?}"
        ),
        _ => {}
    }
    Ok(())
}

// --- the Get Tokens API ----------------------------------------------------------

#[when(expr = "the brand service {string} reads the tokens of {string}")]
async fn service_reads(
    world: &mut DelegationWorld,
    client_id: String,
    username: String,
) -> anyhow::Result<()> {
    let token = world.service_token(&client_id)?;
    let id = world.consumer_id(&username)?;
    world.read_tokens(Some(&token), ACCOUNT, &id).await
}

#[when(expr = "the brand service {string} reads the tokens of {string} in account {string}")]
async fn service_reads_in(
    world: &mut DelegationWorld,
    client_id: String,
    username: String,
    account: String,
) -> anyhow::Result<()> {
    let token = world.service_token(&client_id)?;
    let id = world.consumer_id(&username)?;
    world.read_tokens(Some(&token), &account, &id).await
}

#[when(expr = "the brand service {string} reads the tokens of the consumer id {string}")]
async fn service_reads_id(
    world: &mut DelegationWorld,
    client_id: String,
    id: String,
) -> anyhow::Result<()> {
    let token = world.service_token(&client_id)?;
    world.read_tokens(Some(&token), ACCOUNT, &id).await
}

#[when(expr = "the brand service {string} reads the tokens of a consumer id of {int} characters")]
async fn service_reads_long_id(
    world: &mut DelegationWorld,
    client_id: String,
    len: usize,
) -> anyhow::Result<()> {
    let token = world.service_token(&client_id)?;
    world
        .read_tokens(Some(&token), ACCOUNT, &"c".repeat(len))
        .await
}

#[when(expr = "a caller reads the tokens of {string} without a token")]
async fn reads_without_token(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let id = world.consumer_id(&username)?;
    world.read_tokens(None, ACCOUNT, &id).await
}

#[when(expr = "a caller reads the tokens of {string} with the bearer token {string}")]
async fn reads_with_token(
    world: &mut DelegationWorld,
    username: String,
    token: String,
) -> anyhow::Result<()> {
    let id = world.consumer_id(&username)?;
    world.read_tokens(Some(&token), ACCOUNT, &id).await
}

#[when(expr = "a caller reads the tokens of {string} with Basic credentials of {string}")]
async fn reads_with_basic(
    world: &mut DelegationWorld,
    username: String,
    client_id: String,
) -> anyhow::Result<()> {
    let id = world.consumer_id(&username)?;
    let path = format!(
        "/api/account/{ACCOUNT}/consumer/{}/brand/tokens",
        encode(&id)
    );
    let credentials = STANDARD.encode(format!("{client_id}:{}", service_secret(&client_id)));
    let response = world
        .http
        .get(world.url(&path))
        .header("authorization", format!("Basic {credentials}"))
        .send()
        .await
        .context("the Get Tokens API did not answer")?;
    let answer = Answer::of(response).await?;
    world.pre_auth.tokens_answers.push(answer);
    world.pre_auth.last_reads = 1;
    Ok(())
}

#[when(
    expr = "the brand service {string} reads the tokens of {string} {int} times at the same moment"
)]
async fn reads_concurrently(
    world: &mut DelegationWorld,
    client_id: String,
    username: String,
    count: usize,
) -> anyhow::Result<()> {
    let token = world.service_token(&client_id)?;
    let id = world.consumer_id(&username)?;
    let url = world.url(&format!(
        "/api/account/{ACCOUNT}/consumer/{}/brand/tokens",
        encode(&id)
    ));
    let reads = (0..count).map(|_| {
        let request = world
            .http
            .get(&url)
            .header("authorization", format!("Bearer {token}"));
        async move {
            let response = request.send().await.context("a read was not answered")?;
            Answer::of(response).await
        }
    });
    let answers = futures::future::join_all(reads)
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?;
    world.pre_auth.tokens_answers.extend(answers);
    world.pre_auth.last_reads = count;
    Ok(())
}

#[then(expr = "the Get Tokens API answers {int} {string}")]
fn tokens_answered(world: &mut DelegationWorld, status: u16, error: String) -> anyhow::Result<()> {
    let answer = world.last_tokens_answer()?;
    answer.expect(status, &error)?;
    ensure!(
        answer.cache_control.as_deref() == Some("no-store"),
        "the answer may be cached: {answer:?}"
    );
    ensure!(
        answer.body.get("access_token").is_none(),
        "a refused read carries a token"
    );
    Ok(())
}

#[then(expr = "the Get Tokens API answers 200 with the tokens of {string}")]
fn tokens_of(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let sub = sub_of(&username)?;
    let now = world.clock.now();
    let answer = world.last_tokens_answer()?;
    answer.expect(200, "")?;
    let b = &answer.body;
    ensure!(
        b["consumer_id"] == sub.as_str(),
        "the tokens are for {}",
        b["consumer_id"]
    );
    ensure!(
        b["token_type"] == "Bearer",
        "token_type is {}",
        b["token_type"]
    );
    ensure!(
        b["expires_at"].as_i64().is_some_and(|e| e > now),
        "the access token is not current: expires_at {} at {now}",
        b["expires_at"]
    );
    let access = b["access_token"]
        .as_str()
        .ok_or_else(|| anyhow!("no access_token"))?;
    ensure!(
        jwt_claims(access)?["sub"] == sub.as_str(),
        "the access token is not {username}'s"
    );
    let id_token = b["id_token"]
        .as_str()
        .ok_or_else(|| anyhow!("no id_token"))?;
    let claims = jwt_claims(id_token)?;
    ensure!(
        claims["sub"] == sub.as_str(),
        "the ID token is not {username}'s"
    );
    ensure!(
        claims["aud"] == CLIENT_ID || claims["aud"][0] == CLIENT_ID,
        "the ID token is for {}",
        claims["aud"]
    );
    ensure!(
        b.get("refresh_token").is_none(),
        "the Get Tokens API gives the refresh token away"
    );
    Ok(())
}

#[then("the answer may not be cached")]
fn not_cached(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let answer = world.last_tokens_answer()?;
    ensure!(
        answer.cache_control.as_deref() == Some("no-store"),
        "Cache-Control is {:?}",
        answer.cache_control
    );
    Ok(())
}

#[then(expr = "the answer challenges with {string}")]
fn challenges_with(world: &mut DelegationWorld, part: String) -> anyhow::Result<()> {
    let answer = world.last_tokens_answer()?;
    let challenge = answer
        .www_authenticate
        .as_deref()
        .ok_or_else(|| anyhow!("the answer has no WWW-Authenticate: {answer:?}"))?;
    ensure!(
        challenge.starts_with("Bearer ") && challenge.contains(&part),
        "the challenge {challenge:?} does not say {part:?}"
    );
    Ok(())
}

#[then("the challenge carries no error code")]
fn challenge_without_error(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let answer = world.last_tokens_answer()?;
    let challenge = answer.www_authenticate.as_deref().unwrap_or_default();
    ensure!(
        !challenge.contains("error="),
        "a request without authentication got an error code (RFC 6750 3.1): {challenge:?}"
    );
    Ok(())
}

#[then(expr = "the answer says {string}")]
fn answer_says(world: &mut DelegationWorld, part: String) -> anyhow::Result<()> {
    let answer = world.last_tokens_answer()?;
    let description = answer.body["error_description"]
        .as_str()
        .unwrap_or_default();
    ensure!(
        description.contains(&part),
        "the answer says {description:?}"
    );
    Ok(())
}

#[then("the access token read differs from the one read before")]
fn token_changed(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let answers = &world.pre_auth.tokens_answers;
    ensure!(
        answers.len() >= 2,
        "the tokens were read {} times",
        answers.len()
    );
    let [.., before, last] = answers.as_slice() else {
        unreachable!("two or more")
    };
    ensure!(
        before.body["access_token"].is_string()
            && last.body["access_token"] != before.body["access_token"],
        "the same access token was read twice"
    );
    Ok(())
}

#[then(expr = "all {int} answers are 200 with the same access token")]
fn all_same(world: &mut DelegationWorld, count: usize) -> anyhow::Result<()> {
    ensure!(
        world.pre_auth.last_reads == count,
        "{} reads were made",
        world.pre_auth.last_reads
    );
    let answers = &world.pre_auth.tokens_answers[world.pre_auth.tokens_answers.len() - count..];
    for a in answers {
        a.expect(200, "")?;
    }
    let first = &answers[0].body["access_token"];
    ensure!(
        answers.iter().all(|a| &a.body["access_token"] == first),
        "the concurrent reads got different access tokens"
    );
    Ok(())
}

#[then(
    expr = "with the access token read for {string} the brand API shows the profile of {string}"
)]
async fn profile_with_token(
    world: &mut DelegationWorld,
    username: String,
    name: String,
) -> anyhow::Result<()> {
    let sub = sub_of(&username)?;
    let token = world
        .pre_auth
        .tokens_answers
        .iter()
        .rev()
        .find(|a| a.body["consumer_id"] == sub.as_str())
        .and_then(|a| a.body["access_token"].as_str())
        .ok_or_else(|| anyhow!("no access token was read for {username}"))?
        .to_string();
    let response = world
        .http
        .get(format!("{}/api/me", world.api.url().trim_end_matches('/')))
        .bearer_auth(token)
        .send()
        .await
        .context("the brand API did not answer")?;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or_default();
    ensure!(
        status == 200,
        "the brand API answered {status}: {}",
        body["error"]
    );
    ensure!(
        body["name"] == name.as_str() && body["sub"] == sub.as_str(),
        "the brand API shows the profile of {} ({})",
        body["name"],
        body["sub"]
    );
    Ok(())
}
