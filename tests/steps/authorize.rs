//! The authorization link and where it leads (RFC 6749 4.1.1, 4.1.2;
//! OIDC Core 3.1.2).
//!
//! `Given the authorization link ...` steps shape the link; `When the
//! consumer opens the authorization link` sends the consumer's browser to
//! it. The consumer either lands on a page (login, consent, an error page of
//! the IdP's own) or is redirected back to the client.

use anyhow::{anyhow, ensure};
use base64::Engine as _;
use cucumber::{given, then, when};
use sha2::{Digest, Sha256};
use standin::conformance::agent::Field;
use standin::conformance::{Form, Landing, Page};
use standin::secret::{Secret, random_token};
use url::Url;

use super::IdpWorld;
use super::params::PkceMethod;

/// A PKCE pair (RFC 7636 4.1, 4.2).
#[derive(Clone, Debug)]
pub struct Pkce {
    pub method: PkceMethod,
    pub verifier: Secret,
    pub challenge: String,
}

impl Pkce {
    pub fn new(method: PkceMethod) -> Self {
        let verifier = random_token(32);
        let challenge = match method {
            PkceMethod::S256 => base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(verifier.as_bytes()).as_slice()),
            PkceMethod::Plain => verifier.clone(),
        };
        Self {
            method,
            verifier: Secret::new(verifier),
            challenge,
        }
    }
}

/// The parameters of an authorization link. `None` leaves one out.
#[derive(Clone, Debug)]
pub struct AuthRequest {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub pkce: Option<Pkce>,
    pub prompt: Option<String>,
    pub login_hint: Option<String>,
    pub max_age: Option<String>,
    /// Added after the others, in order: unknown or repeated parameters.
    pub extra: Vec<(String, String)>,
}

impl AuthRequest {
    /// The link the client would send: its id, its registered redirect
    /// URI, its scope, a fresh `state` and `nonce`, and a PKCE S256
    /// challenge, as RFC 9700 2.1.1 has every client send (an IdP may
    /// require it of confidential clients too; scenarios about PKCE set
    /// their own).
    pub fn for_client(world: &IdpWorld) -> Self {
        Self {
            client_id: Some(world.client.id.clone()),
            redirect_uri: Some(world.client.redirect_uri.clone()),
            response_type: Some("code".into()),
            scope: Some(world.client.scope.clone()),
            state: Some(random_token(16)),
            nonce: Some(random_token(16)),
            pkce: Some(Pkce::new(PkceMethod::S256)),
            prompt: None,
            login_hint: None,
            max_age: None,
            extra: Vec::new(),
        }
    }

    /// The value a parameter has in the link (for repeating it).
    pub fn value_of(&self, name: &str) -> Option<String> {
        self.pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        let mut push = |name: &str, value: &Option<String>| {
            if let Some(value) = value {
                pairs.push((name.to_string(), value.clone()));
            }
        };
        push("response_type", &self.response_type);
        push("client_id", &self.client_id);
        push("redirect_uri", &self.redirect_uri);
        push("scope", &self.scope);
        push("state", &self.state);
        // `nonce` is an OpenID Connect parameter (OIDC Core 3.1.2.1): a
        // plain OAuth 2.0 request (no `openid` scope) leaves it out.
        let openid = self
            .scope
            .as_deref()
            .is_none_or(|s| s.split(' ').any(|w| w == "openid"));
        if openid {
            push("nonce", &self.nonce);
        }
        if let Some(pkce) = &self.pkce {
            push("code_challenge", &Some(pkce.challenge.clone()));
            push("code_challenge_method", &Some(pkce.method.as_str().into()));
        }
        push("prompt", &self.prompt);
        push("login_hint", &self.login_hint);
        push("max_age", &self.max_age);
        pairs.extend(self.extra.iter().cloned());
        pairs
    }

    pub fn url(&self, authorization_endpoint: &str) -> anyhow::Result<Url> {
        let mut url = Url::parse(authorization_endpoint)
            .map_err(|e| anyhow!("authorization_endpoint {authorization_endpoint:?}: {e}"))?;
        url.query_pairs_mut().extend_pairs(self.pairs());
        Ok(url)
    }
}

impl IdpWorld {
    /// The link being shaped, started from the client's defaults.
    pub fn pending(&mut self) -> &mut AuthRequest {
        if self.pending.is_none() {
            self.pending = Some(AuthRequest::for_client(self));
        }
        self.pending.as_mut().expect("just set")
    }

    /// Open the link shaped so far (the client's default one when no step
    /// shaped it) in the consumer's browser.
    pub async fn open_authorization_link(&mut self) -> anyhow::Result<()> {
        let request = match self.pending.take() {
            Some(request) => request,
            None => AuthRequest::for_client(self),
        };
        let endpoint = self.endpoint("authorization_endpoint").await?;
        let url = request.url(&endpoint)?;
        // Stop at whatever redirect URI the link names, registered or not:
        // the agent must never fetch a URI the IdP should not have used.
        if let Some(redirect_uri) = &request.redirect_uri {
            let base = redirect_uri.split(['?', '#']).next().unwrap_or_default();
            self.agent.stop_at(base.to_string());
        }
        self.sent = Some(request);
        self.code = None;
        let landing = self.agent.open(&url).await?;
        self.arrive(landing);
        Ok(())
    }

    /// Record where a navigation ended; keep the code if there is one.
    pub fn arrive(&mut self, landing: Landing) {
        if let Some(code) = landing.callback().and_then(|c| c.get("code")) {
            self.code = Some(Secret::new(code));
        }
        self.landing = Some(landing);
    }

    /// The page the consumer is on, or a failure saying where they are.
    pub fn page(&self) -> anyhow::Result<&Page> {
        let landing = self.landing()?;
        landing.page().ok_or_else(|| {
            anyhow!(
                "expected the consumer to be on a page of the IdP, but they got {}",
                landing.describe()
            )
        })
    }

    pub fn sent(&self) -> anyhow::Result<&AuthRequest> {
        self.sent
            .as_ref()
            .ok_or_else(|| anyhow!("the consumer has not opened an authorization link"))
    }
}

// --- shaping the link -------------------------------------------------------

#[given(expr = "the authorization link asks for scope {string}")]
fn link_scope(world: &mut IdpWorld, scope: String) {
    world.pending().scope = Some(scope);
}

#[given(expr = "the authorization link carries a PKCE {pkce} challenge")]
fn link_pkce(world: &mut IdpWorld, method: PkceMethod) {
    world.pending().pkce = Some(Pkce::new(method));
}

#[given(expr = "the authorization link carries no PKCE challenge")]
fn link_no_pkce(world: &mut IdpWorld) {
    world.pending().pkce = None;
}

#[given(expr = "the authorization link names the client {string}")]
fn link_client(world: &mut IdpWorld, client_id: String) {
    world.pending().client_id = Some(client_id);
}

#[given(expr = "the authorization link uses the redirect URI {string}")]
fn link_redirect_uri(world: &mut IdpWorld, redirect_uri: String) {
    world.pending().redirect_uri = Some(redirect_uri);
}

#[given(expr = "the authorization link uses the registered redirect URI with {string} appended")]
fn link_redirect_uri_appended(world: &mut IdpWorld, suffix: String) {
    let uri = format!("{}{suffix}", world.client.redirect_uri);
    world.pending().redirect_uri = Some(uri);
}

#[given(
    expr = "the authorization link uses the registered redirect URI with its path in upper case"
)]
fn link_redirect_uri_upper(world: &mut IdpWorld) -> anyhow::Result<()> {
    let mut url = Url::parse(&world.client.redirect_uri)?;
    let upper = url.path().to_uppercase();
    ensure!(
        upper != url.path(),
        "the registered redirect URI has no letters in its path to change"
    );
    url.set_path(&upper);
    world.pending().redirect_uri = Some(url.to_string());
    Ok(())
}

#[given(expr = "the authorization link uses the registered redirect URI on another port")]
fn link_redirect_uri_port(world: &mut IdpWorld) -> anyhow::Result<()> {
    let mut url = Url::parse(&world.client.redirect_uri)?;
    let port = url.port_or_known_default().unwrap_or(80);
    url.set_port(Some(port.wrapping_add(1)))
        .map_err(|()| anyhow!("cannot change the port of {url}"))?;
    world.pending().redirect_uri = Some(url.to_string());
    Ok(())
}

#[given(expr = "the authorization link has no redirect URI")]
fn link_no_redirect_uri(world: &mut IdpWorld) {
    world.pending().redirect_uri = None;
}

#[given(expr = "the authorization link has response_type {string}")]
fn link_response_type(world: &mut IdpWorld, response_type: String) {
    world.pending().response_type = Some(response_type);
}

#[given(expr = "the authorization link has no response_type")]
fn link_no_response_type(world: &mut IdpWorld) {
    world.pending().response_type = None;
}

#[given(expr = "the authorization link has no state")]
fn link_no_state(world: &mut IdpWorld) {
    world.pending().state = None;
}

#[given(expr = "the authorization link repeats the {string} parameter")]
fn link_repeats(world: &mut IdpWorld, name: String) -> anyhow::Result<()> {
    let value = world
        .pending()
        .value_of(&name)
        .ok_or_else(|| anyhow!("the link has no {name:?} parameter to repeat"))?;
    world.pending().extra.push((name, value));
    Ok(())
}

#[given(
    expr = "the authorization link carries the parameter {string} twice, as {string} and {string}"
)]
fn link_twice(world: &mut IdpWorld, name: String, first: String, second: String) {
    let extra = &mut world.pending().extra;
    extra.push((name.clone(), first));
    extra.push((name, second));
}

#[given(expr = "the authorization link carries the parameter {string} with value {string}")]
fn link_extra(world: &mut IdpWorld, name: String, value: String) {
    world.pending().extra.push((name, value));
}

#[given(expr = "the authorization link asks for prompt {string}")]
fn link_prompt(world: &mut IdpWorld, prompt: String) {
    world.pending().prompt = Some(prompt);
}

#[given(expr = "the authorization link asks for max_age {int}")]
fn link_max_age(world: &mut IdpWorld, max_age: u64) {
    world.pending().max_age = Some(max_age.to_string());
}

#[given(expr = "the authorization link carries the login hint {string}")]
fn link_login_hint(world: &mut IdpWorld, hint: String) {
    world.pending().login_hint = Some(hint);
}

// --- opening it ----------------------------------------------------------------

#[when("the consumer opens the authorization link")]
async fn open_link(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.open_authorization_link().await
}

#[when("the consumer's browser posts the authorization request as a form")]
async fn post_link(world: &mut IdpWorld) -> anyhow::Result<()> {
    // OIDC Core 3.1.2.1: the authorization endpoint accepts POST too, with
    // the parameters form-encoded in the body.
    let request = match world.pending.take() {
        Some(request) => request,
        None => AuthRequest::for_client(world),
    };
    let endpoint = world.endpoint("authorization_endpoint").await?;
    let form = Form {
        action: Url::parse(&endpoint)?,
        method: reqwest::Method::POST,
        fields: request
            .pairs()
            .into_iter()
            .map(|(name, value)| Field {
                name,
                kind: "hidden".into(),
                value,
            })
            .collect(),
        buttons: Vec::new(),
    };
    world.sent = Some(request);
    world.code = None;
    let landing = world.agent.submit(&form, None).await?;
    world.arrive(landing);
    Ok(())
}

#[when(expr = "the consumer opens the authorization link with scope {string}")]
async fn open_link_scope(world: &mut IdpWorld, scope: String) -> anyhow::Result<()> {
    world.pending().scope = Some(scope);
    world.open_authorization_link().await
}

#[when(expr = "the consumer opens the authorization link with a PKCE {pkce} challenge")]
async fn open_link_pkce(world: &mut IdpWorld, method: PkceMethod) -> anyhow::Result<()> {
    world.pending().pkce = Some(Pkce::new(method));
    world.open_authorization_link().await
}

#[when(
    expr = "the consumer opens the authorization link with scope {string} and a PKCE {pkce} challenge"
)]
async fn open_link_scope_pkce(
    world: &mut IdpWorld,
    scope: String,
    method: PkceMethod,
) -> anyhow::Result<()> {
    let pending = world.pending();
    pending.scope = Some(scope);
    pending.pkce = Some(Pkce::new(method));
    world.open_authorization_link().await
}

#[when(expr = "the consumer opens the authorization link with prompt {string}")]
async fn open_link_prompt(world: &mut IdpWorld, prompt: String) -> anyhow::Result<()> {
    world.pending().prompt = Some(prompt);
    world.open_authorization_link().await
}

// --- where it led ----------------------------------------------------------------

/// RFC 6749 4.1.2 / RFC 9207: the redirect carries a code, `state`
/// unchanged and, when required, `iss` equal to the issuer.
fn check_code_redirect(world: &IdpWorld, require_iss: bool) -> anyhow::Result<()> {
    let callback = world.callback()?;
    let sent = world.sent()?;
    ensure!(
        callback.get("error").is_none(),
        "expected a code, the IdP redirected back with error {:?} ({:?})",
        callback.get("error"),
        callback.get("error_description")
    );
    ensure!(
        callback.count("code") == 1 && !callback.get("code").unwrap_or_default().is_empty(),
        "expected exactly one non-empty code in the redirect, got {callback:?}"
    );
    let expected = Url::parse(
        sent.redirect_uri
            .as_deref()
            .unwrap_or(&world.client.redirect_uri),
    )?;
    let mut expected_base = expected.clone();
    expected_base.set_query(None);
    ensure!(
        callback.url_without_query() == expected_base.to_string(),
        "the IdP redirected to {} instead of the redirect URI {expected}",
        callback.url_without_query()
    );
    // RFC 6749 3.1.2: a query in the registered URI must be retained.
    for (name, value) in expected.query_pairs() {
        ensure!(
            callback
                .params
                .iter()
                .any(|(k, v)| *k == name && *v == value),
            "the redirect dropped the query parameter {name}={value} of the redirect URI \
             (RFC 6749 3.1.2)"
        );
    }
    ensure!(
        callback.count("state") == 1 && callback.get("state") == sent.state.as_deref(),
        "state must come back exactly as sent (RFC 6749 4.1.2)"
    );
    let iss = callback.get("iss");
    if require_iss || iss.is_some() {
        ensure!(
            iss == Some(world.issuer.as_str()),
            "iss in the authorization response must equal the issuer {} (RFC 9207 2), got {iss:?}",
            world.issuer
        );
    }
    Ok(())
}

#[then("the IdP redirects back with a code and the same state")]
fn redirected_with_code(world: &mut IdpWorld) -> anyhow::Result<()> {
    check_code_redirect(world, false)
}

#[then("the IdP redirects back with a code and the same state and iss equal to the issuer")]
fn redirected_with_code_and_iss(world: &mut IdpWorld) -> anyhow::Result<()> {
    check_code_redirect(world, true)
}

#[then(expr = "the IdP redirects back with error {string}")]
fn redirected_with_error(world: &mut IdpWorld, error: String) -> anyhow::Result<()> {
    let callback = world.callback()?;
    let sent = world.sent()?;
    ensure!(
        callback.get("error") == Some(error.as_str()),
        "expected error {error:?} in the redirect, got error {:?} ({:?})",
        callback.get("error"),
        callback.get("error_description")
    );
    ensure!(
        callback.get("code").is_none(),
        "an error response must not carry a code"
    );
    let state_repeated = sent.extra.iter().any(|(k, _)| k == "state");
    if let Some(state) = &sent.state {
        let returned = callback.get("state");
        // With a repeated state the IdP cannot know which one to return;
        // it may leave it out, but must not return anything else.
        ensure!(
            returned == Some(state.as_str()) || (state_repeated && returned.is_none()),
            "state must come back with an error too (RFC 6749 4.1.2.1)"
        );
    }
    if let Some(description) = callback.get("error_description") {
        ensure!(
            description
                .chars()
                .all(|c| (' '..='~').contains(&c) && c != '"' && c != '\\'),
            "error_description must be printable ASCII (RFC 6749 4.1.2.1), got {description:?}"
        );
    }
    if let Some(iss) = callback.get("iss") {
        ensure!(
            iss == world.issuer,
            "iss must equal the issuer {} (RFC 9207 2), got {iss:?}",
            world.issuer
        );
    }
    Ok(())
}

/// RFC 6749 4.1.2.1: with a bad client or redirect URI the IdP informs the
/// consumer itself and must not redirect anywhere.
fn check_own_error_page(world: &IdpWorld, error: Option<&str>) -> anyhow::Result<()> {
    let landing = world.landing()?;
    let page = landing.page().ok_or_else(|| {
        anyhow!(
            "the IdP must not redirect with an unverified client or redirect URI \
             (RFC 6749 4.1.2.1), but the consumer got {}",
            landing.describe()
        )
    })?;
    ensure!(
        page.status.is_client_error(),
        "expected the IdP's error page with a 4xx status, got {}",
        page.describe()
    );
    ensure!(
        page.login_form(world.agent.hints())?.is_none(),
        "expected an error page, got the login form"
    );
    if let Some(error) = error {
        match page.text_of("#error-code") {
            Some(shown) => ensure!(
                shown == error,
                "the error page shows {shown:?}, expected {error:?}"
            ),
            None => ensure!(
                page.text().contains(error),
                "the error page does not mention {error:?}: {}",
                page.describe()
            ),
        }
    }
    Ok(())
}

#[then("the IdP shows its own error page and does not redirect")]
fn own_error_page(world: &mut IdpWorld) -> anyhow::Result<()> {
    check_own_error_page(world, None)
}

#[then(expr = "the IdP shows its own error page with {string} and does not redirect")]
fn own_error_page_with(world: &mut IdpWorld, error: String) -> anyhow::Result<()> {
    check_own_error_page(world, Some(&error))
}

#[then("no code was issued")]
fn no_code(world: &mut IdpWorld) -> anyhow::Result<()> {
    let landing = world.landing()?;
    ensure!(
        landing.callback().and_then(|c| c.get("code")).is_none(),
        "expected no code, but the IdP redirected back with one"
    );
    Ok(())
}
