//! The IdP's login form and consent page, as the consumer uses them.

use anyhow::{anyhow, ensure};
use cucumber::{given, then, when};
use standin::conformance::{Form, Landing, Page};
use standin::secret::Secret;

use super::IdpWorld;

impl IdpWorld {
    /// Fill and submit the login form the consumer is looking at.
    pub async fn sign_in(&mut self, username: &str, password: &Secret) -> anyhow::Result<()> {
        let page = self.page()?.clone();
        let landing = self
            .agent
            .sign_in(&page, username, password.expose())
            .await?;
        self.arrive(landing);
        Ok(())
    }

    /// Is the consumer looking at a consent page?
    pub fn on_consent_page(&self) -> bool {
        let allow = &self.agent.hints().allow_button;
        matches!(
            &self.landing,
            Some(Landing::Page(page)) if matches!(page.form_with_button(allow), Ok(Some(_)))
        )
    }

    /// Is the consumer looking at the login form?
    pub fn on_login_form(&self) -> bool {
        matches!(
            &self.landing,
            Some(Landing::Page(page)) if matches!(page.login_form(self.agent.hints()), Ok(Some(_)))
        )
    }

    /// Sign in as the scenario's test user.
    pub async fn sign_in_as_test_user(&mut self) -> anyhow::Result<()> {
        let user = self.user.clone();
        self.sign_in(&user.username, &user.password).await
    }

    /// The consumer must be where `arrived` says; `expected` names it.
    fn expect_at(&self, arrived: bool, expected: &str) -> anyhow::Result<()> {
        ensure!(
            arrived,
            "expected {expected}, the consumer got {}",
            self.landing()?.describe()
        );
        Ok(())
    }

    pub async fn allow_consent(&mut self) -> anyhow::Result<()> {
        let page = self.page()?.clone();
        let landing = self.agent.allow_consent(&page).await?;
        self.arrive(landing);
        Ok(())
    }

    /// The whole front channel with the test user: open the link shaped so
    /// far, sign in, consent if asked; the IdP must redirect back with a code.
    pub async fn sign_in_fully(&mut self) -> anyhow::Result<()> {
        self.open_authorization_link().await?;
        if self.on_login_form() {
            self.sign_in_as_test_user().await?;
        }
        if self.on_consent_page() {
            self.allow_consent().await?;
        }
        let callback = self.callback()?;
        ensure!(
            callback.get("code").is_some(),
            "signing in ended with {} instead of a code: error {:?} ({:?})",
            callback.url_without_query(),
            callback.get("error"),
            callback.get("error_description")
        );
        Ok(())
    }
}

#[when(expr = "the consumer signs in as {string} with password {string}")]
async fn sign_in_as(
    world: &mut IdpWorld,
    username: String,
    password: String,
) -> anyhow::Result<()> {
    world.sign_in(&username, &Secret::new(password)).await
}

#[when("the consumer signs in as the test user")]
async fn sign_in_test_user(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.sign_in_as_test_user().await
}

#[when("the consumer signs in as the test user with a wrong password")]
async fn sign_in_wrong_password(world: &mut IdpWorld) -> anyhow::Result<()> {
    let user = world.user.clone();
    let wrong = Secret::new(format!("{}-wrong", user.password.expose()));
    world.sign_in(&user.username, &wrong).await
}

#[when("the consumer allows consent")]
async fn allow_consent(world: &mut IdpWorld) -> anyhow::Result<()> {
    let expected = format!(
        "a consent page with an {:?} button",
        world.agent.hints().allow_button
    );
    world.expect_at(world.on_consent_page(), &expected)?;
    world.allow_consent().await
}

#[when("the consumer allows consent if asked")]
async fn allow_consent_if_asked(world: &mut IdpWorld) -> anyhow::Result<()> {
    if world.on_consent_page() {
        world.allow_consent().await?;
    }
    Ok(())
}

#[when("the consumer denies consent")]
async fn deny_consent(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.expect_at(world.on_consent_page(), "a consent page")?;
    let page = world.page()?.clone();
    let landing = world.agent.deny_consent(&page).await?;
    world.arrive(landing);
    Ok(())
}

#[given("the consumer has signed in as the test user")]
async fn has_signed_in(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.sign_in_fully().await?;
    // The next link starts afresh; the session cookie stays in the browser.
    world.pending = None;
    Ok(())
}

#[when("the consumer completes sign-in and consent as the test user")]
async fn completes_sign_in(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.sign_in_fully().await
}

#[then("the consumer sees the login form")]
fn sees_login_form(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.expect_at(world.on_login_form(), "the login form")
}

#[then("the consumer does not see the login form")]
fn does_not_see_login_form(world: &mut IdpWorld) -> anyhow::Result<()> {
    ensure!(
        !world.on_login_form(),
        "expected no login form (the consumer has a session), but the IdP asked again"
    );
    Ok(())
}

/// The page the consumer is on, which must show the login form.
fn login_page(world: &IdpWorld) -> anyhow::Result<&Page> {
    world.expect_at(world.on_login_form(), "the login form")?;
    world.page()
}

#[then("the consumer sees the login form again with an error")]
fn sees_login_form_with_error(world: &mut IdpWorld) -> anyhow::Result<()> {
    let page = login_page(world)?;
    let error = page
        .text_of("#login-error")
        .or_else(|| page.text_of(".error"))
        .or_else(|| page.text_of("[role=alert]"))
        .ok_or_else(|| anyhow!("the login form shows no error message"))?;
    ensure!(!error.is_empty(), "the login error message is empty");
    Ok(())
}

#[then("the consumer sees the consent page")]
fn sees_consent_page(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.expect_at(world.on_consent_page(), "the consent page")
}

#[then(expr = "the login form is prefilled with {string}")]
fn login_prefilled(world: &mut IdpWorld, username: String) -> anyhow::Result<()> {
    let form = world.login_form()?;
    let value = form
        .value(&world.agent.hints().username_field)
        .unwrap_or_default();
    ensure!(
        value == username,
        "the username field holds {value:?}, expected {username:?}"
    );
    Ok(())
}

#[then("the login page forbids framing by other sites")]
fn login_forbids_framing(world: &mut IdpWorld) -> anyhow::Result<()> {
    let page = login_page(world)?;
    let xfo = page
        .header("x-frame-options")
        .map(|v| v.trim().to_ascii_uppercase());
    let xfo_ok = matches!(xfo.as_deref(), Some("DENY") | Some("SAMEORIGIN"));
    let csp_ok = page
        .headers
        .get_all("content-security-policy")
        .iter()
        .any(|v| {
            v.to_str().is_ok_and(|csp| {
                csp.split(';').any(|directive| {
                    let mut words = directive.split_whitespace();
                    words.next() == Some("frame-ancestors")
                        && words.all(|w| w == "'none'" || w == "'self'")
                })
            })
        });
    ensure!(
        xfo_ok || csp_ok,
        "the login page needs X-Frame-Options DENY or SAMEORIGIN, or a CSP frame-ancestors \
         'none' or 'self' against clickjacking; got X-Frame-Options {xfo:?}"
    );
    Ok(())
}

// --- forged form posts (CSRF) ------------------------------------------------------

/// The anti-CSRF hidden field of a form, by the usual names.
fn csrf_field(form: &Form) -> anyhow::Result<String> {
    form.fields
        .iter()
        .filter(|f| f.kind == "hidden")
        .map(|f| f.name.clone())
        .find(|name| {
            let name = name.to_ascii_lowercase();
            name.contains("csrf") || name.contains("xsrf") || name.contains("authenticity")
        })
        .ok_or_else(|| anyhow!("the form has no hidden anti-CSRF field"))
}

/// Replace the anti-CSRF token of a form with one the IdP never issued.
fn spoil_csrf(form: &mut Form) -> anyhow::Result<()> {
    let field = csrf_field(form)?;
    form.set(&field, "not-the-csrf-token-of-this-form");
    Ok(())
}

impl IdpWorld {
    /// The login form on the current page.
    fn login_form(&self) -> anyhow::Result<Form> {
        let page = self.page()?;
        page.login_form(self.agent.hints())?
            .ok_or_else(|| anyhow!("no login form on {}", page.describe()))
    }

    /// The login form on the current page, filled in for the test user.
    fn filled_login_form(&self) -> anyhow::Result<Form> {
        let hints = self.agent.hints();
        let mut form = self.login_form()?;
        let password_field = form
            .password_field(hints)
            .ok_or_else(|| anyhow!("the login form has no password field"))?;
        form.set(&hints.username_field, &self.user.username);
        form.set(&password_field, self.user.password.expose());
        Ok(form)
    }

    /// The consent form on the current page and its allow button.
    fn consent_form(&self) -> anyhow::Result<(Form, standin::conformance::agent::Button)> {
        let page = self.page()?;
        page.form_with_button(&self.agent.hints().allow_button)?
            .ok_or_else(|| anyhow!("no consent form on {}", page.describe()))
    }

    /// Post a form the way another site would make the browser post it:
    /// without the IdP's cookies (they are SameSite=Lax) and without
    /// following redirects.
    async fn post_cross_site(
        &mut self,
        form: &Form,
        pressed: Option<&standin::conformance::agent::Button>,
    ) -> anyhow::Result<()> {
        let response = self
            .http
            .post(form.action.clone())
            .form(&form.submission(pressed))
            .send()
            .await?;
        let page = Page {
            status: response.status(),
            url: response.url().clone(),
            headers: response.headers().clone(),
            html: response.text().await?,
        };
        self.landing = Some(Landing::Page(page));
        Ok(())
    }
}

#[when("the login form is posted from another site, without the IdP's cookie")]
async fn login_cross_site(world: &mut IdpWorld) -> anyhow::Result<()> {
    let form = world.filled_login_form()?;
    let pressed = form.buttons.first().cloned();
    world.post_cross_site(&form, pressed.as_ref()).await
}

#[when("the consumer's browser posts the login form with a wrong CSRF token")]
async fn login_wrong_csrf(world: &mut IdpWorld) -> anyhow::Result<()> {
    let mut form = world.filled_login_form()?;
    spoil_csrf(&mut form)?;
    let pressed = form.buttons.first().cloned();
    let landing = world.agent.submit(&form, pressed.as_ref()).await?;
    world.arrive(landing);
    Ok(())
}

#[when("the consent form is posted from another site, without the IdP's cookie")]
async fn consent_cross_site(world: &mut IdpWorld) -> anyhow::Result<()> {
    let (form, allow) = world.consent_form()?;
    world.post_cross_site(&form, Some(&allow)).await
}

#[when("the consumer's browser posts the consent form with a wrong CSRF token")]
async fn consent_wrong_csrf(world: &mut IdpWorld) -> anyhow::Result<()> {
    let (mut form, allow) = world.consent_form()?;
    spoil_csrf(&mut form)?;
    let landing = world.agent.submit(&form, Some(&allow)).await?;
    world.arrive(landing);
    Ok(())
}

#[then(expr = "the login page shows the login hint {string} as text, not as markup")]
fn login_hint_escaped(world: &mut IdpWorld, hint: String) -> anyhow::Result<()> {
    login_prefilled(world, hint.clone())?;
    let page = world.page()?;
    ensure!(
        !page.html.contains(&hint),
        "the login page reflects the login hint unescaped"
    );
    let document = scraper::Html::parse_document(&page.html);
    let scripts = scraper::Selector::parse("script").expect("static selector");
    ensure!(
        document.select(&scripts).next().is_none(),
        "the login page contains a script element"
    );
    Ok(())
}
