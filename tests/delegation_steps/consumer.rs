//! The consumer at the brand's IdP: opening the link, the login form, the
//! consent page, and where the IdP sends the browser back. The browser is
//! the world's [`Consumer`](crate::drivers::Consumer) (the agent of
//! `standin::conformance`): it fills the IdP's HTML forms as a person
//! would, and stops at the platform's callback so the scenario decides how
//! (and how often) it is delivered.

use anyhow::{anyhow, ensure};
use cucumber::{given, then, when};
use standin::conformance::{Landing, Page};

use super::{DelegationWorld, Link};

/// The test consumer of the default brand fixtures (in profile mode, the
/// profile's test user stands for her).
pub const USERNAME: &str = "alice";
const PASSWORD: &str = "alice-password";
/// Her subject at the mock IdP and in the brand API's data.
pub const ALICE_SUB: &str = "c0ffee00-a11c-4e00-8000-000000000001";

/// The user name and password to type: in profile mode alice is the
/// profile's test user, and her password the profile's; any other password
/// stays wrong.
fn credentials(username: &str, password: &str) -> (String, String) {
    let profile = super::profile::current().filter(|_| username == USERNAME);
    match &profile {
        Some(p) if password == PASSWORD => (
            p.user.username.clone(),
            p.user.password.expose().to_string(),
        ),
        Some(p) => (p.user.username.clone(), password.to_string()),
        None => (username.to_string(), password.to_string()),
    }
}

impl DelegationWorld {
    /// Where the browser is now, as a page.
    fn idp_page(&self) -> anyhow::Result<Page> {
        match &self.landing {
            Some(Landing::Page(page)) => Ok(page.clone()),
            Some(other) => Err(anyhow!(
                "the consumer is not on an IdP page but at {}",
                other.describe()
            )),
            None => Err(anyhow!("the consumer has not opened the link yet")),
        }
    }

    fn on_login_form(&self) -> bool {
        matches!(&self.landing, Some(Landing::Page(p)) if self.consumer.is_login_form(p))
    }

    fn on_consent_page(&self) -> bool {
        matches!(&self.landing, Some(Landing::Page(p)) if self.consumer.is_consent_page(p))
    }

    /// Remember where the browser ended; a redirect to the platform is the
    /// callback of the conversation whose link the browser opened.
    fn arrive(&mut self, landing: Landing) {
        if let Some(callback) = landing.callback() {
            self.callback = Some((self.link_of, callback.clone()));
        }
        self.landing = Some(landing);
    }

    /// Open a link of the conversation at `index`.
    pub async fn open_link(&mut self, index: usize, link: &Link) -> anyhow::Result<()> {
        self.callback = None;
        self.link_of = index;
        let landing = self.consumer.open(&link.0).await?;
        self.arrive(landing);
        Ok(())
    }

    async fn sign_in_form(&mut self, username: &str, password: &str) -> anyhow::Result<()> {
        let page = self.idp_page()?;
        let (username, password) = credentials(username, password);
        let landing = self.consumer.sign_in(&page, &username, &password).await?;
        self.arrive(landing);
        Ok(())
    }

    async fn consent(&mut self, allow: bool) -> anyhow::Result<()> {
        let page = self.idp_page()?;
        let landing = self.consumer.consent(&page, allow).await?;
        self.arrive(landing);
        Ok(())
    }

    /// Open `link`, sign in as alice if asked, consent if asked: the IdP
    /// must send the browser back to the platform.
    pub async fn sign_in_at_idp(&mut self, index: usize, link: &Link) -> anyhow::Result<()> {
        self.open_link(index, link).await?;
        if let Some(landing) = self.landing.clone() {
            let (username, password) = credentials(USERNAME, PASSWORD);
            let landing = self
                .consumer
                .answer_idp(landing, &username, &password, true)
                .await?;
            self.arrive(landing);
        }
        ensure!(
            self.callback.is_some(),
            "signing in did not bring the consumer back to the platform: {}",
            self.landing
                .as_ref()
                .map(Landing::describe)
                .unwrap_or_default()
        );
        Ok(())
    }

    /// The link the bot sent last in the conversation at `index`.
    pub fn last_link(&self, index: usize) -> anyhow::Result<Link> {
        let conv = self.conversation(index)?;
        conv.links
            .last()
            .cloned()
            .ok_or_else(|| anyhow!("the bot sent no link in conversation {:?}", conv.label))
    }

    /// The whole flow in one: ask, sign in, return to the platform, and
    /// get the answer.
    pub async fn sign_in_through_bot(&mut self, index: usize) -> anyhow::Result<()> {
        let link = self.ask_for_link(index, "my orders").await?;
        self.sign_in_at_idp(index, &link).await?;
        let page = self.deliver_callback().await?;
        ensure!(
            page.status == 200,
            "signing in ended with {}",
            page.describe()
        );
        let (text, _) = self.last_bot_message(index).await?;
        ensure!(
            text.starts_with("Your orders"),
            "after signing in the bot said {text:?}"
        );
        Ok(())
    }
}

#[when("the consumer opens the link")]
async fn open_the_link(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let link = world.last_link(world.current)?;
    world.open_link(world.current, &link).await
}

#[then("the IdP shows its login form")]
fn login_form_shown(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let page = world.idp_page()?;
    ensure!(
        world.on_login_form(),
        "expected the IdP's login form, the consumer sees {}",
        page.describe()
    );
    Ok(())
}

#[then("the IdP asks the consumer for consent")]
fn consent_shown(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let page = world.idp_page()?;
    ensure!(
        world.on_consent_page(),
        "expected the IdP's consent page, the consumer sees {}",
        page.describe()
    );
    Ok(())
}

#[when(expr = "the consumer signs in as {string} with password {string}")]
async fn sign_in_as(
    world: &mut DelegationWorld,
    username: String,
    password: String,
) -> anyhow::Result<()> {
    world.sign_in_form(&username, &password).await
}

#[when("the consumer allows consent")]
async fn allow(world: &mut DelegationWorld) -> anyhow::Result<()> {
    world.consent(true).await
}

#[when("the consumer denies consent")]
async fn deny(world: &mut DelegationWorld) -> anyhow::Result<()> {
    world.consent(false).await
}

#[given("the consumer has signed in at the IdP through the link")]
#[when("the consumer signs in through the bot's last link")]
async fn sign_in_last_link(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let link = world.last_link(world.current)?;
    world.sign_in_at_idp(world.current, &link).await
}

#[when(expr = "the consumer signs in through the link of {string}")]
async fn sign_in_link_of(world: &mut DelegationWorld, text: String) -> anyhow::Result<()> {
    let link = world.ask_for_link(world.current, &text).await?;
    world.sign_in_at_idp(world.current, &link).await
}

#[given("the consumer has signed in through the bot's link")]
async fn signed_in(world: &mut DelegationWorld) -> anyhow::Result<()> {
    world.sign_in_through_bot(world.current).await
}

#[given(expr = "the consumer has signed in through the bot's link in conversation {string}")]
async fn signed_in_named(world: &mut DelegationWorld, label: String) -> anyhow::Result<()> {
    let index = world.conversation_index(&label)?;
    world.sign_in_through_bot(index).await
}

/// The redirect must go to the platform's callback `path` and carry the
/// state of the link the consumer opened.
fn expect_redirect(world: &DelegationWorld, path: &str) -> anyhow::Result<()> {
    let (index, callback) = world.callback.as_ref().ok_or_else(|| {
        anyhow!(
            "the IdP did not send the consumer back to the platform: {}",
            world
                .landing
                .as_ref()
                .map(Landing::describe)
                .unwrap_or_default()
        )
    })?;
    let expected = world.url(path);
    ensure!(
        callback.url_without_query() == expected,
        "the IdP redirected to {}, expected {expected}",
        callback.url_without_query()
    );
    let link = world.last_link(*index)?;
    ensure!(
        callback.get("state").map(str::to_string) == link.param("state"),
        "the redirect does not carry the link's state"
    );
    ensure!(callback.count("state") == 1, "the redirect repeats state");
    // The mock always sends iss; another IdP may not (RFC 9207 is
    // optional), but one it sends must be its issuer.
    let iss = callback.get("iss");
    ensure!(
        iss == Some(world.idp.issuer()) || (iss.is_none() && world.idp.embedded().is_err()),
        "the redirect's iss is {iss:?}, the issuer is {:?} (RFC 9207)",
        world.idp.issuer()
    );
    Ok(())
}

#[then(
    expr = "the IdP sends the consumer to the platform's callback {string} with a code and the link's state"
)]
fn redirect_with_code(world: &mut DelegationWorld, path: String) -> anyhow::Result<()> {
    expect_redirect(world, &path)?;
    let (_, callback) = world.callback.as_ref().expect("checked");
    ensure!(
        callback.get("code").is_some_and(|c| !c.is_empty()),
        "the redirect carries no code: {callback:?}"
    );
    ensure!(
        callback.get("error").is_none(),
        "the redirect carries an error"
    );
    Ok(())
}

#[then(
    expr = "the IdP sends the consumer to the platform's callback {string} with the error {string} and the link's state"
)]
fn redirect_with_error(
    world: &mut DelegationWorld,
    path: String,
    error: String,
) -> anyhow::Result<()> {
    expect_redirect(world, &path)?;
    let (_, callback) = world.callback.as_ref().expect("checked");
    ensure!(
        callback.get("error") == Some(error.as_str()),
        "the redirect's error is {:?}, expected {error:?}",
        callback.get("error")
    );
    ensure!(
        callback.get("code").is_none(),
        "an error redirect carries a code"
    );
    Ok(())
}
