//! The consumer's browser as real headless Chromium, driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`, through `fantoccini`), for
//! login pages that need JavaScript: `standin conform --browser chromium`.
//!
//! The IdP's redirect to the redirect URI must reach the gate, not
//! whatever serves that URI: each browser session routes the redirect
//! URI's origin (and only it) through a catcher of its own, by a PAC
//! script. An `http` redirect arrives at the catcher whole and is kept; an
//! `https` one is refused at CONNECT, so it never leaves the machine, and
//! the URL is read from the browser's address.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::IntoResponse;
use base64::Engine as _;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use url::Url;

use crate::conformance::{Callback, FormHints, Landing, Page};
use crate::server::Server;

/// A running chromedriver. Dropping it stops the process and every
/// browser it started: chromedriver runs in a process group of its own,
/// which the browsers join, and the whole group is killed. (Killing
/// chromedriver alone would leave a browser running whenever its session
/// was not closed, as when a test fails.)
pub struct Driver {
    child: tokio::process::Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.child.id().and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) with a negative pid signals the process group
            // whose id is chromedriver's pid (it leads its own group); it
            // touches no memory.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.child.start_kill();
    }
}

/// Why the browser could not be had: an error of the run.
fn unavailable(what: impl std::fmt::Display) -> String {
    format!(
        "--browser chromium: {what} (install Debian's chromium and chromium-driver, or use --browser http)"
    )
}

impl Driver {
    /// Start `chromedriver` on a free loopback port and wait until it
    /// answers.
    pub async fn start() -> Result<Driver, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| unavailable(format!("no free port: {e}")))?
            .port();
        let mut command = tokio::process::Command::new("chromedriver");
        // Its own process group, for the browsers it starts (see Drop).
        #[cfg(unix)]
        command.process_group(0);
        let child = command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| unavailable(format!("chromedriver cannot be started: {e}")))?;
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http
                .get(format!("{url}/status"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(Driver { child, url });
            }
            // Waiting for a process to listen, not for an expiry.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(unavailable("chromedriver did not answer within 5 s"))
    }

    /// The WebDriver server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A fresh headless Chromium (no cookies), with `extra` command-line
    /// arguments.
    pub async fn browser(&self, extra: &[String]) -> Result<Client, String> {
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
        ]
        .map(String::from)
        .to_vec();
        args.extend_from_slice(extra);
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), json!({ "args": args }));
        // The console's messages, for whoever wants to read them
        // (ChromeDriver's log endpoint).
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        ClientBuilder::rustls()
            .map_err(|e| unavailable(e.to_string()))?
            .capabilities(caps)
            .connect(&self.url)
            .await
            .map_err(|e| unavailable(format!("no browser session: {e}")))
    }

    /// A fresh headless browser (no cookies) whose requests to
    /// `redirect_uri`'s origin go to a catcher of its own.
    pub async fn session(
        &self,
        redirect_uri: &Url,
        hints: FormHints,
        extra: std::collections::BTreeMap<String, String>,
    ) -> Result<Session, String> {
        let caught: Arc<Mutex<Option<Url>>> = Arc::default();
        let listener = crate::server::bind("127.0.0.1:0".parse().expect("an address"))
            .await
            .map_err(|e| unavailable(format!("no port for the redirect catcher: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| unavailable(e.to_string()))?;
        let app = axum::Router::new()
            .fallback(catch)
            .with_state(caught.clone());
        let catcher = Server::spawn(listener, addr, app);
        let origin = redirect_uri.origin().ascii_serialization();
        let pac = format!(
            "function FindProxyForURL(url, host) {{ if (url.indexOf({origin:?}) === 0) return \"PROXY {addr}\"; return \"DIRECT\"; }}"
        );
        let pac_url = format!(
            "data:application/x-ns-proxy-autoconfig;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(pac)
        );
        let client = self
            .browser(&[
                format!("--proxy-pac-url={pac_url}"),
                "--proxy-bypass-list=<-loopback>".into(),
            ])
            .await?;
        Ok(Session {
            client: Some(client),
            caught,
            _catcher: catcher,
            stops: vec![
                redirect_uri
                    .as_str()
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            ],
            hints,
            hints_extra: extra,
            history: Vec::new(),
        })
    }
}

/// The catcher: any request is the IdP's redirect (the PAC sends only
/// the redirect URI's origin here). CONNECT (an `https` redirect URI) is
/// refused: the code stays in the browser's address bar.
async fn catch(
    State(caught): State<Arc<Mutex<Option<Url>>>>,
    request: Request,
) -> axum::response::Response {
    if request.method() == axum::http::Method::CONNECT {
        return axum::http::StatusCode::FORBIDDEN.into_response();
    }
    if let Ok(url) = Url::parse(&request.uri().to_string()) {
        *caught.lock().unwrap_or_else(|e| e.into_inner()) = Some(url);
    }
    axum::response::Html("<!doctype html><title>standin</title><p>The gate has the redirect.</p>")
        .into_response()
}

/// One browser, for one check.
pub struct Session {
    client: Option<Client>,
    caught: Arc<Mutex<Option<Url>>>,
    _catcher: Server,
    /// Where the browser is stopped (the redirect URI without query, and
    /// any other the check asks for).
    stops: Vec<String>,
    hints: FormHints,
    /// The profile's `[form.extra]` fields.
    hints_extra: std::collections::BTreeMap<String, String>,
    history: Vec<String>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            tokio::spawn(async move {
                let _ = client.close().await;
            });
        }
    }
}

fn cmd(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("the browser: {e}")
}

impl Session {
    fn client(&self) -> &Client {
        self.client.as_ref().expect("open until dropped")
    }

    /// Also stop at URLs starting with `prefix`.
    pub fn stop_at(&mut self, prefix: &str) {
        if !self.stops.iter().any(|s| s == prefix) {
            self.stops.push(prefix.to_string());
        }
    }

    /// Paths visited (no queries), for the report.
    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// Where the browser is: the caught redirect, or the rendered page.
    async fn landing(&mut self) -> anyhow::Result<Landing> {
        if let Some(url) = self.caught.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return Ok(Landing::Redirected(Callback::new(url)));
        }
        let url = self.client().current_url().await.map_err(cmd)?;
        if self
            .stops
            .iter()
            .any(|s| url.as_str().starts_with(s.as_str()))
        {
            return Ok(Landing::Redirected(Callback::new(url)));
        }
        self.history.push(format!("GET {}", url.path()));
        let html = self.client().source().await.map_err(cmd)?;
        Ok(Landing::Page(Page {
            // WebDriver does not tell the status of a page.
            status: reqwest::StatusCode::OK,
            url,
            headers: Default::default(),
            html,
        }))
    }

    /// Mark the current document, so [`Self::settle`] can tell when
    /// another one replaced it.
    async fn mark(&mut self) -> anyhow::Result<()> {
        self.client()
            .execute("window.__standinMark = true;", vec![])
            .await
            .map_err(cmd)
            .map(drop)
    }

    /// Wait until a new document replaced the marked one (or the redirect
    /// was caught), up to `limit`, then say where the browser is.
    async fn settle(&mut self, limit: Duration) -> anyhow::Result<Landing> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let caught = self
                .caught
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some();
            let same = self
                .client()
                .execute(
                    "return window.__standinMark === true && document.readyState === 'complete';",
                    vec![],
                )
                .await
                .map(|v| v == serde_json::Value::Bool(true))
                // A navigation in progress can refuse scripts: not settled.
                .unwrap_or(true);
            let loaded = self
                .client()
                .execute("return document.readyState === 'complete';", vec![])
                .await
                .map(|v| v == serde_json::Value::Bool(true))
                .unwrap_or(false);
            if caught || (!same && loaded) || tokio::time::Instant::now() >= deadline {
                return self.landing().await;
            }
            // Polling the browser for a navigation, not waiting out an expiry.
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Open `url` as typed (WebDriver waits for the page to load).
    pub async fn open(&mut self, url: &Url, _limit: Duration) -> anyhow::Result<Landing> {
        self.client().goto(url.as_str()).await.map_err(cmd)?;
        self.landing().await
    }

    /// The profile's `[form.extra]` fields that `form` has.
    async fn fill_extra(&mut self, form: &crate::conformance::Form) -> anyhow::Result<()> {
        for (name, value) in self.hints_extra.clone() {
            if form.has_field(&name) {
                self.fill(&name, &value).await?;
            }
        }
        Ok(())
    }

    /// Type `value` into the input named `name`.
    async fn fill(&mut self, name: &str, value: &str) -> anyhow::Result<()> {
        let css = format!("input[name={}]", css_string(name));
        let input = self.client().find(Locator::Css(&css)).await.map_err(cmd)?;
        input.clear().await.map_err(cmd)?;
        input.send_keys(value).await.map_err(cmd)
    }

    /// Press the first submit button of the form holding input `name`, or
    /// submit that form.
    async fn submit_with(&mut self, name: &str, limit: Duration) -> anyhow::Result<Landing> {
        self.mark().await?;
        let xpath = format!(
            "//input[@name={}]/ancestor::form//*[(self::button and (not(@type) or @type='submit')) or (self::input and @type='submit')]",
            xpath_string(name)
        );
        match self.client().find(Locator::XPath(&xpath)).await {
            Ok(button) => button.click().await.map_err(cmd)?,
            Err(_) => {
                let form_xpath = format!("//input[@name={}]/ancestor::form", xpath_string(name));
                let form = self
                    .client()
                    .form(Locator::XPath(&form_xpath))
                    .await
                    .map_err(cmd)?;
                form.submit().await.map_err(cmd)?;
            }
        }
        self.settle(limit).await
    }

    /// Sign in on `page` (one page or either step of a two-step login).
    pub async fn sign_in(
        &mut self,
        page: &Page,
        username: &str,
        password: &str,
        limit: Duration,
    ) -> anyhow::Result<Option<Landing>> {
        let hints = self.hints.clone();
        let forms = page.forms()?;
        if let Some(form) = forms.iter().find(|f| f.password_field(&hints).is_some()) {
            let field = form.password_field(&hints).unwrap_or_default();
            if form.has_field(&hints.username_field)
                && form
                    .fields
                    .iter()
                    .any(|f| f.name == hints.username_field && f.kind != "hidden")
            {
                self.fill(&hints.username_field, username).await?;
            }
            self.fill(&field, password).await?;
            self.fill_extra(form).await?;
            return self.submit_with(&field, limit).await.map(Some);
        }
        if let Some(form) = forms.iter().find(|f| f.has_field(&hints.username_field)) {
            self.fill(&hints.username_field, username).await?;
            self.fill_extra(form).await?;
            return self
                .submit_with(&hints.username_field, limit)
                .await
                .map(Some);
        }
        Ok(None)
    }

    /// Press the button whose value, name or text is `wanted`.
    pub async fn press(&mut self, wanted: &str, limit: Duration) -> anyhow::Result<Landing> {
        self.mark().await?;
        let lower = wanted.to_ascii_lowercase();
        let xpath = format!(
            "//*[(self::button or self::input[@type='submit']) and (translate(@value,'ABCDEFGHIJKLMNOPQRSTUVWXYZ','abcdefghijklmnopqrstuvwxyz')={w} or translate(normalize-space(.),'ABCDEFGHIJKLMNOPQRSTUVWXYZ','abcdefghijklmnopqrstuvwxyz')={w} or translate(@name,'ABCDEFGHIJKLMNOPQRSTUVWXYZ','abcdefghijklmnopqrstuvwxyz')={w})]",
            w = xpath_string(&lower)
        );
        let button = self
            .client()
            .find(Locator::XPath(&xpath))
            .await
            .map_err(cmd)?;
        button.click().await.map_err(cmd)?;
        self.settle(limit).await
    }
}

/// A CSS string literal.
fn css_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// An XPath 1.0 string literal (no escapes in XPath 1.0: pick the quote).
fn xpath_string(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_quoted_safely() {
        assert_eq!(css_string("user\"name"), "\"user\\\"name\"");
        assert_eq!(xpath_string("allow"), "'allow'");
        assert_eq!(xpath_string("it's"), "\"it's\"");
        assert_eq!(xpath_string("a'b\"c"), "concat('a', \"'\", 'b\"c')");
    }
}
