//! Consumer Pre-Authentication and the Get Tokens API, end to end.
//!
//! The consumer signs in on the brand's website
//! ([`BrandSite`](crate::drivers::BrandSite)): the brand's page sends a
//! fresh browser (one per consumer) to the IdP's authorization endpoint
//! with the platform's client id, its own page as
//! `redirect_uri`, PKCE and a nonce; the IdP sends the browser back to that
//! page with a code, and the page hands the code to the platform
//! (`POST /api/account/{account}/consumer/sessions`), which answers the
//! consumer id and the session's handle (`session_token`). Conversations
//! the brand's messaging client opens with that handle
//! (`"consumer_session"`) then use the kept tokens; a conversation that
//! only names the consumer id gets none. Brand services read the tokens
//! through the Get Tokens API with a token from the platform's
//! `POST /oauth/token` ([`GetTokens`](crate::drivers::GetTokens)).
//!
//! Nothing here prints a code, a verifier, a handle or a token: answers
//! keep their bodies out of `Debug`, tokens and handles are [`Secret`]s.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context as _, anyhow, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cucumber::{given, then, when};
use serde_json::{Value, json};
use standin::idp::admin::TokenState;
use standin::idp::state::Grant;
use standin::idp::{Endpoint, Fault, Fixtures};
use standin::platform::OrgId;
use standin::secret::{Secret, random_token};

use super::vault::encode;

use super::{CLIENT_ID, Conversation, DelegationWorld};
use crate::drivers::{self, Answer, Bearer};

mod brand_website;
mod conversations;
mod get_tokens;

/// The brand's page the IdP sends the consumer back to (registered with
/// the platform's client at the IdP). The browser stops there: the page
/// itself is the brand's, not part of the scenario.
pub const BRAND_PAGE: &str = "https://www.brand.example/account/signed-in";

/// What the brand's page asks for.
pub const SCOPE: &str = "openid profile offline_access orders:read";

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

/// Whose sign-in on the brand's website a code is.
struct SignIn {
    username: String,
    code: drivers::SignIn,
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
        let code = self.brand_site.sign_in(username, &password).await?;
        Ok(SignIn {
            username: username.to_string(),
            code,
        })
    }

    /// The brand's page hands a code to the platform.
    async fn hand_over(&mut self, account: &str, body: Value) -> anyhow::Result<Answer> {
        let answer = self.brand_site.hand_over(account, &body).await?;
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
        let mut body = sign_in.code.hand_over_body(BRAND_PAGE);
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
        let answer = self.chat.open_with(body).await?;
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
            reads.extend(self.chat.reads(&c.id).await?);
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

    /// Read the tokens of `consumer_id` in `account`; the answer is kept.
    async fn read_tokens(
        &mut self,
        auth: Bearer<'_>,
        account: &str,
        consumer_id: &str,
    ) -> anyhow::Result<()> {
        let answer = self.get_tokens.read(auth, account, consumer_id).await?;
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
