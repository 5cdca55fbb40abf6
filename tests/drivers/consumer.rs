//! The consumer's browser: [`ConsumerAgent`] at the IdP (login form,
//! consent page), stopping at the platform's callback so the test decides
//! how (and how often) the redirect is delivered; then back at the
//! platform, where it reads the page shown.

use std::fmt;

use anyhow::{Context as _, anyhow};
use standin::conformance::{ConsumerAgent, FormHints, Landing, Page};
use url::Url;

use super::Link;

/// How many IdP pages (login, consent, ...) a whole sign-in may pass.
const MAX_FORMS: usize = 4;

/// A consumer's browser: a cookie jar at the IdP, and a plain client back
/// at the platform (no cookies, no redirects followed).
#[derive(Clone)]
pub struct Consumer {
    agent: ConsumerAgent,
    platform: reqwest::Client,
}

impl fmt::Debug for Consumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("agent", &self.agent)
            .finish()
    }
}

/// A page the platform showed the browser: its status, title (`h1`) and
/// message (the first `p`). `Debug` leaves the HTML out.
#[derive(Clone)]
pub struct PlatformPage {
    pub status: u16,
    pub title: String,
    pub text: String,
    pub html: String,
}

impl fmt::Debug for PlatformPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformPage")
            .field("status", &self.status)
            .field("title", &self.title)
            .field("text", &self.text)
            .finish()
    }
}

impl PlatformPage {
    pub fn describe(&self) -> String {
        format!(
            "a {} page titled {:?}: {:?}",
            self.status, self.title, self.text
        )
    }
}

impl Consumer {
    /// A fresh browser (empty cookie jar) reading the IdP's forms with
    /// `hints`, that stops at any URL starting with `stop_at`.
    pub fn new(hints: FormHints, stop_at: &str) -> anyhow::Result<Self> {
        let mut agent = ConsumerAgent::new(hints).context("cannot build the browser")?;
        agent.stop_at(stop_at);
        Ok(Self {
            agent,
            platform: super::http_client()?,
        })
    }

    pub fn hints(&self) -> &FormHints {
        self.agent.hints()
    }

    /// Also stop at URLs starting with `prefix`.
    pub fn stop_at(&mut self, prefix: impl Into<String>) {
        self.agent.stop_at(prefix);
    }

    /// Open a URL, following redirects until a page or a stop.
    pub async fn open(&mut self, url: &Url) -> anyhow::Result<Landing> {
        Ok(self.agent.open(url).await?)
    }

    /// Whether `page` shows a login form.
    pub fn is_login_form(&self, page: &Page) -> bool {
        matches!(page.login_form(self.hints()), Ok(Some(_)))
    }

    /// Whether `page` asks for consent.
    pub fn is_consent_page(&self, page: &Page) -> bool {
        matches!(
            page.form_with_button(&self.hints().allow_button),
            Ok(Some(_))
        )
    }

    /// Fill the login form of `page` and submit it.
    pub async fn sign_in(
        &mut self,
        page: &Page,
        username: &str,
        password: &str,
    ) -> anyhow::Result<Landing> {
        Ok(self.agent.sign_in(page, username, password).await?)
    }

    /// Allow (or deny) on the consent page `page`.
    pub async fn consent(&mut self, page: &Page, allow: bool) -> anyhow::Result<Landing> {
        Ok(if allow {
            self.agent.allow_consent(page).await?
        } else {
            self.agent.deny_consent(page).await?
        })
    }

    /// From `landing` on, sign in as `username` when the IdP asks and
    /// answer consent (`allow` or deny) when it asks, until the IdP sends
    /// the browser to a stop or shows a page that asks for neither.
    pub async fn answer_idp(
        &mut self,
        mut landing: Landing,
        username: &str,
        password: &str,
        allow: bool,
    ) -> anyhow::Result<Landing> {
        for _ in 0..MAX_FORMS {
            let Landing::Page(page) = &landing else { break };
            landing = if self.is_login_form(page) {
                self.sign_in(page, username, password).await?
            } else if self.is_consent_page(page) {
                self.consent(page, allow).await?
            } else {
                break;
            };
        }
        Ok(landing)
    }

    /// Open `link`, sign in and answer consent: the redirect back to the
    /// client (not fetched).
    pub async fn sign_in_through(
        &mut self,
        link: &Url,
        username: &str,
        password: &str,
        allow: bool,
    ) -> anyhow::Result<Link> {
        let landing = self.open(link).await?;
        let landing = self.answer_idp(landing, username, password, allow).await?;
        landing
            .callback()
            .map(|callback| Link(callback.url.clone()))
            .ok_or_else(|| {
                anyhow!(
                    "signing in did not bring the browser back: {}",
                    landing.describe()
                )
            })
    }

    /// Open `url` on the platform (the redirect back, real or forged); the
    /// page it shows.
    pub async fn return_to(&self, url: &str) -> anyhow::Result<PlatformPage> {
        let response = self
            .platform
            .get(url)
            .send()
            .await
            .context("the platform did not answer")?;
        let page = Page::from_response(response)
            .await
            .context("the page could not be read")?;
        Ok(PlatformPage {
            status: page.status.as_u16(),
            title: page.text_of("h1").unwrap_or_default(),
            text: page.text_of("p").unwrap_or_default(),
            html: page.html,
        })
    }
}
