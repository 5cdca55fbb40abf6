//! A simulated consumer browser.
//!
//! [`ConsumerAgent`] is what a consumer's browser does in an authorization
//! code flow, reduced to HTTP: it keeps cookies, follows redirects itself (so
//! it can stop at the client's redirect URI instead of fetching it), reads the
//! HTML forms of the pages it lands on and submits them the way a browser
//! would, hidden fields and the pressed button included.
//!
//! Nothing here is specific to standin beyond the defaults of [`FormHints`]:
//! the same agent signs in on a brand's real login page when a profile gives
//! it the names of the form fields.

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{Method, StatusCode};
use scraper::{ElementRef, Html, Selector};
use url::Url;

/// How many redirects the agent follows before giving up. Browsers allow
/// about twenty; a login flow that needs more than ten is broken.
pub const MAX_HOPS: usize = 10;

/// Why the agent could not go on.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("HTTP request to {url} failed: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("more than {MAX_HOPS} redirects, the last one to {0}")]
    TooManyRedirects(String),
    #[error("a {status} redirect from {from} has no usable Location header")]
    BadLocation { status: u16, from: String },
    #[error("form action {action:?} cannot be resolved against {page}")]
    BadAction { action: String, page: String },
    #[error("{0}")]
    Form(String),
}

/// Names the agent looks for in a login or consent form.
///
/// The defaults are standin's; a profile sets those of a brand's login page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormHints {
    /// `name` of the username input.
    pub username_field: String,
    /// `name` of the password input (an `input type=password` is also found
    /// without it).
    pub password_field: String,
    /// `value` (or, failing that, the text) of the button that grants consent.
    pub allow_button: String,
    /// `value` (or, failing that, the text) of the button that refuses consent.
    pub deny_button: String,
}

impl Default for FormHints {
    fn default() -> Self {
        Self {
            username_field: "username".into(),
            password_field: "password".into(),
            allow_button: "allow".into(),
            deny_button: "deny".into(),
        }
    }
}

/// Where a navigation ended.
#[derive(Clone, Debug)]
pub enum Landing {
    /// The IdP sent the browser to one of the URIs the agent was told to stop
    /// at (the client's redirect URI): the agent did not fetch it.
    Redirected(Callback),
    /// A page that is not a redirect: a login, consent or error page.
    Page(Page),
}

impl Landing {
    pub fn callback(&self) -> Option<&Callback> {
        match self {
            Landing::Redirected(callback) => Some(callback),
            Landing::Page(_) => None,
        }
    }

    pub fn page(&self) -> Option<&Page> {
        match self {
            Landing::Page(page) => Some(page),
            Landing::Redirected(_) => None,
        }
    }

    /// One line for assertion messages (no query values: they may be codes).
    pub fn describe(&self) -> String {
        match self {
            Landing::Redirected(callback) => {
                let names: Vec<&str> = callback.params.iter().map(|(k, _)| k.as_str()).collect();
                format!(
                    "a redirect to {} with parameters {names:?}",
                    callback.url_without_query()
                )
            }
            Landing::Page(page) => page.describe(),
        }
    }
}

/// The redirect that brought the browser back to the client.
#[derive(Clone)]
pub struct Callback {
    /// The full URL, as the IdP wrote it in `Location`.
    pub url: Url,
    /// The query parameters, in order, repeated ones kept.
    pub params: Vec<(String, String)>,
}

impl Callback {
    /// The parameters of the query, or, when the query has none, of the
    /// fragment: an error for a response type whose default response mode
    /// is the fragment (`token`, `id_token`) comes back there (RFC 6749
    /// 4.2.2.1, OAuth 2.0 Multiple Response Types 2.1).
    pub fn new(url: Url) -> Self {
        let mut params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        if params.is_empty()
            && let Some(fragment) = url.fragment()
        {
            params = url::form_urlencoded::parse(fragment.as_bytes())
                .into_owned()
                .collect();
        }
        Self { url, params }
    }

    /// The first value of a query parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// How many times a query parameter occurs.
    pub fn count(&self, name: &str) -> usize {
        self.params.iter().filter(|(k, _)| k == name).count()
    }

    pub fn url_without_query(&self) -> String {
        let mut url = self.url.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.to_string()
    }
}

/// The query holds the authorization code: keep it out of `Debug`.
impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.params.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Callback")
            .field("url", &self.url_without_query())
            .field("params", &names)
            .finish()
    }
}

/// A page the agent landed on.
#[derive(Clone)]
pub struct Page {
    pub status: StatusCode,
    pub url: Url,
    pub headers: HeaderMap,
    pub html: String,
}

impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Page")
            .field("status", &self.status)
            .field("url", &self.url.path())
            .field("bytes", &self.html.len())
            .finish()
    }
}

impl Page {
    /// The page a response carries, read as it is (a redirect is not
    /// followed): for a page fetched by other means than the agent.
    pub async fn from_response(response: reqwest::Response) -> Result<Self, AgentError> {
        let status = response.status();
        let url = response.url().clone();
        let headers = response.headers().clone();
        let html = response.text().await.map_err(|source| AgentError::Http {
            url: url.path().to_string(),
            source,
        })?;
        Ok(Self {
            status,
            url,
            headers,
            html,
        })
    }

    /// The first form that has a field named `name`.
    pub fn form_with_field(&self, name: &str) -> Result<Option<Form>, AgentError> {
        Ok(self.forms()?.into_iter().find(|form| form.has_field(name)))
    }

    /// One line for assertion messages.
    pub fn describe(&self) -> String {
        let mut line = format!("a {} page at {}", self.status, self.url.path());
        if let Some(title) = self.text_of("title") {
            line.push_str(&format!(" titled {title:?}"));
        }
        if let Some(code) = self.text_of("#error-code") {
            line.push_str(&format!(" showing error {code:?}"));
        }
        line
    }

    /// The trimmed text of the first element matching a CSS selector.
    pub fn text_of(&self, selector: &str) -> Option<String> {
        let selector = Selector::parse(selector).ok()?;
        let document = Html::parse_document(&self.html);
        document.select(&selector).next().map(|element| {
            element
                .text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    /// All visible text of the page, whitespace collapsed.
    pub fn text(&self) -> String {
        let document = Html::parse_document(&self.html);
        document
            .root_element()
            .text()
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Where a `<meta http-equiv="refresh" content="N; url=...">` sends
    /// the browser, if the page has one.
    pub fn meta_refresh(&self) -> Option<Url> {
        let document = Html::parse_document(&self.html);
        let selector = Selector::parse("meta[http-equiv]").expect("static selector");
        document.select(&selector).find_map(|meta| {
            let el = meta.value();
            if !el.attr("http-equiv")?.eq_ignore_ascii_case("refresh") {
                return None;
            }
            let content = el.attr("content")?;
            let (_, target) = content.split_once(';')?;
            let target = target.trim();
            let target = target
                .strip_prefix("url=")
                .or_else(|| target.strip_prefix("URL="))
                .unwrap_or(target)
                .trim_matches(['\'', '"']);
            self.url.join(target).ok()
        })
    }

    /// Whether the page runs scripts (a login page built by JavaScript
    /// shows no form to an HTTP agent).
    pub fn has_scripts(&self) -> bool {
        let document = Html::parse_document(&self.html);
        let selector = Selector::parse("script").expect("static selector");
        document.select(&selector).next().is_some()
    }

    /// The page's title and a summary of its forms, for a message saying
    /// where an agent got stuck (field names and kinds; no values).
    pub fn summary(&self) -> String {
        let title = self
            .text_of("title")
            .or_else(|| self.text_of("h1"))
            .unwrap_or_else(|| "(no title)".into());
        let forms = self.forms().unwrap_or_default();
        let forms = if forms.is_empty() {
            "no forms".to_string()
        } else {
            forms
                .iter()
                .map(|f| {
                    let fields: Vec<String> = f
                        .fields
                        .iter()
                        .map(|x| format!("{}:{}", x.name, x.kind))
                        .collect();
                    let buttons: Vec<&str> = f.buttons.iter().map(|b| b.label.as_str()).collect();
                    format!(
                        "a form with fields [{}] and buttons [{}]",
                        fields.join(", "),
                        buttons.join(", ")
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        format!("{title:?} at {} ({forms})", self.url.path())
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every form on the page.
    pub fn forms(&self) -> Result<Vec<Form>, AgentError> {
        let document = Html::parse_document(&self.html);
        let forms = Selector::parse("form").expect("static selector");
        document
            .select(&forms)
            .map(|form| Form::parse(form, &self.url))
            .collect()
    }

    /// The login form: the one with a username and a password field.
    pub fn login_form(&self, hints: &FormHints) -> Result<Option<Form>, AgentError> {
        Ok(self
            .forms()?
            .into_iter()
            .find(|form| form.is_login_form(hints)))
    }

    /// The form holding a button with this value (or text).
    pub fn form_with_button(&self, button: &str) -> Result<Option<(Form, Button)>, AgentError> {
        Ok(self.forms()?.into_iter().find_map(|form| {
            let pressed = form.button(button)?.clone();
            Some((form, pressed))
        }))
    }
}

/// A submit button of a form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Button {
    /// `name`; a button without one adds nothing to the submission.
    pub name: Option<String>,
    pub value: String,
    /// The visible text (or `value` for an `input type=submit`).
    pub label: String,
}

/// An HTML form as a browser would submit it.
#[derive(Clone)]
pub struct Form {
    /// `action` resolved against the page URL (the page URL when absent).
    pub action: Url,
    /// `GET` or `POST`.
    pub method: Method,
    /// Successful controls in document order: inputs (hidden ones included,
    /// checkboxes and radios only when checked), selects, textareas.
    pub fields: Vec<Field>,
    pub buttons: Vec<Button>,
}

/// One named form control and its current value.
#[derive(Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub kind: String,
    pub value: String,
}

impl fmt::Debug for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Hidden fields carry CSRF tokens, password fields passwords.
        let value = match self.kind.as_str() {
            "password" | "hidden" => "[redacted]",
            _ => self.value.as_str(),
        };
        write!(f, "{}({})={value:?}", self.name, self.kind)
    }
}

impl fmt::Debug for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Form")
            .field("action", &self.action.as_str())
            .field("method", &self.method)
            .field("fields", &self.fields)
            .field("buttons", &self.buttons)
            .finish()
    }
}

impl Form {
    fn parse(form: ElementRef<'_>, page: &Url) -> Result<Self, AgentError> {
        let action_attr = form.value().attr("action").unwrap_or("").trim();
        let action = if action_attr.is_empty() {
            page.clone()
        } else {
            page.join(action_attr).map_err(|_| AgentError::BadAction {
                action: action_attr.to_string(),
                page: page.to_string(),
            })?
        };
        let method = match form.value().attr("method") {
            Some(m) if m.eq_ignore_ascii_case("post") => Method::POST,
            _ => Method::GET,
        };

        let controls = Selector::parse("input, button, select, textarea").expect("static selector");
        let options = Selector::parse("option").expect("static selector");
        let mut fields = Vec::new();
        let mut buttons = Vec::new();
        for control in form.select(&controls) {
            let element = control.value();
            let name = element.attr("name").map(str::to_string);
            let disabled = element.attr("disabled").is_some();
            let text = || control.text().collect::<String>().trim().to_string();
            match element.name() {
                "button" => {
                    let kind = element.attr("type").unwrap_or("submit");
                    if kind.eq_ignore_ascii_case("submit") && !disabled {
                        buttons.push(Button {
                            name,
                            value: element.attr("value").unwrap_or("").to_string(),
                            label: text(),
                        });
                    }
                }
                "input" => {
                    let kind = element.attr("type").unwrap_or("text").to_ascii_lowercase();
                    let value = element.attr("value").unwrap_or("").to_string();
                    match kind.as_str() {
                        "submit" | "image" => {
                            if !disabled {
                                buttons.push(Button {
                                    name,
                                    label: value.clone(),
                                    value,
                                })
                            }
                        }
                        "button" | "reset" | "file" => {}
                        "checkbox" | "radio" => {
                            let checked = element.attr("checked").is_some();
                            if let (Some(name), true) = (name, checked && !disabled) {
                                let value = if value.is_empty() { "on".into() } else { value };
                                fields.push(Field { name, kind, value });
                            }
                        }
                        _ => {
                            if let (Some(name), false) = (name, disabled) {
                                fields.push(Field { name, kind, value });
                            }
                        }
                    }
                }
                "select" => {
                    if let (Some(name), false) = (name, disabled) {
                        let chosen = control
                            .select(&options)
                            .find(|o| o.value().attr("selected").is_some())
                            .or_else(|| control.select(&options).next());
                        if let Some(option) = chosen {
                            let value = option
                                .value()
                                .attr("value")
                                .map(str::to_string)
                                .unwrap_or_else(|| option.text().collect::<String>());
                            fields.push(Field {
                                name,
                                kind: "select".into(),
                                value,
                            });
                        }
                    }
                }
                "textarea" => {
                    if let (Some(name), false) = (name, disabled) {
                        fields.push(Field {
                            name,
                            kind: "textarea".into(),
                            value: control.text().collect(),
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(Self {
            action,
            method,
            fields,
            buttons,
        })
    }

    /// The current value of a field.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.as_str())
    }

    pub fn has_field(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.name == name)
    }

    /// Set a field, adding it when the form has no such control.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.fields.iter_mut().find(|f| f.name == name) {
            Some(field) => field.value = value.to_string(),
            None => self.fields.push(Field {
                name: name.to_string(),
                kind: "text".into(),
                value: value.to_string(),
            }),
        }
    }

    /// The name of the password input: the hinted one, or the first
    /// `type=password` input.
    pub fn password_field(&self, hints: &FormHints) -> Option<String> {
        if self.has_field(&hints.password_field) {
            return Some(hints.password_field.clone());
        }
        self.fields
            .iter()
            .find(|f| f.kind == "password")
            .map(|f| f.name.clone())
    }

    pub fn is_login_form(&self, hints: &FormHints) -> bool {
        self.has_field(&hints.username_field) && self.password_field(hints).is_some()
    }

    /// A button whose value, name or text matches (case-insensitive).
    pub fn button(&self, wanted: &str) -> Option<&Button> {
        let matches = |b: &&Button| {
            b.value.eq_ignore_ascii_case(wanted) || b.label.eq_ignore_ascii_case(wanted)
        };
        self.buttons.iter().find(matches).or_else(|| {
            self.buttons.iter().find(|b| {
                b.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
            })
        })
    }

    /// The name/value pairs a browser would send, with the pressed button.
    pub fn submission(&self, pressed: Option<&Button>) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = self
            .fields
            .iter()
            .map(|f| (f.name.clone(), f.value.clone()))
            .collect();
        if let Some(Button {
            name: Some(name),
            value,
            ..
        }) = pressed
        {
            pairs.push((name.clone(), value.clone()));
        }
        pairs
    }
}

/// A consumer's browser: cookie jar on, automatic redirects off.
#[derive(Clone)]
pub struct ConsumerAgent {
    client: reqwest::Client,
    hints: FormHints,
    stop_at: Vec<String>,
    history: Vec<String>,
}

impl fmt::Debug for ConsumerAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerAgent")
            .field("hints", &self.hints)
            .field("stop_at", &self.stop_at)
            .field("history", &self.history)
            .finish()
    }
}

impl ConsumerAgent {
    /// A fresh browser (empty cookie jar) that stops at any URL starting
    /// with one of `stop_at` (the client's redirect URIs).
    pub fn new(hints: FormHints) -> Result<Self, AgentError> {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .user_agent("standin-conformance-agent/0.1")
            .build()
            .map_err(|source| AgentError::Http {
                url: String::new(),
                source,
            })?;
        Ok(Self {
            client,
            hints,
            stop_at: Vec::new(),
            history: Vec::new(),
        })
    }

    pub fn hints(&self) -> &FormHints {
        &self.hints
    }

    /// Stop (and do not fetch) when a redirect goes to a URL starting with
    /// this prefix.
    pub fn stop_at(&mut self, prefix: impl Into<String>) {
        let prefix = prefix.into();
        if !prefix.is_empty() && !self.stop_at.contains(&prefix) {
            self.stop_at.push(prefix);
        }
    }

    /// The paths (no queries) of every request made, for failure messages.
    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// Open a URL as if typed or clicked, and follow redirects.
    pub async fn open(&mut self, url: &Url) -> Result<Landing, AgentError> {
        self.navigate(Method::GET, url.clone(), None).await
    }

    /// Submit a form, optionally by pressing one of its buttons.
    pub async fn submit(
        &mut self,
        form: &Form,
        pressed: Option<&Button>,
    ) -> Result<Landing, AgentError> {
        let pairs = form.submission(pressed);
        if form.method == Method::GET {
            let mut url = form.action.clone();
            url.query_pairs_mut().clear().extend_pairs(&pairs);
            self.navigate(Method::GET, url, None).await
        } else {
            let body = serde_urlencoded::to_string(&pairs)
                .map_err(|e| AgentError::Form(format!("cannot encode the form: {e}")))?;
            self.navigate(Method::POST, form.action.clone(), Some(body))
                .await
        }
    }

    /// Fill the login form of `page` and submit it.
    pub async fn sign_in(
        &mut self,
        page: &Page,
        username: &str,
        password: &str,
    ) -> Result<Landing, AgentError> {
        let mut form = page.login_form(&self.hints)?.ok_or_else(|| {
            AgentError::Form(format!(
                "no login form (fields {:?} and {:?}) on {}",
                self.hints.username_field,
                self.hints.password_field,
                page.describe()
            ))
        })?;
        let password_field = form
            .password_field(&self.hints)
            .expect("a login form has a password field");
        form.set(&self.hints.username_field.clone(), username);
        form.set(&password_field, password);
        let pressed = form.buttons.first().cloned();
        self.submit(&form, pressed.as_ref()).await
    }

    /// Press the button with this value (or text) on `page`.
    pub async fn press(&mut self, page: &Page, button: &str) -> Result<Landing, AgentError> {
        let (form, pressed) = page.form_with_button(button)?.ok_or_else(|| {
            AgentError::Form(format!("no button {button:?} on {}", page.describe()))
        })?;
        self.submit(&form, Some(&pressed)).await
    }

    /// Press the consent button that grants access.
    pub async fn allow_consent(&mut self, page: &Page) -> Result<Landing, AgentError> {
        let allow = self.hints.allow_button.clone();
        self.press(page, &allow).await
    }

    /// Press the consent button that refuses access.
    pub async fn deny_consent(&mut self, page: &Page) -> Result<Landing, AgentError> {
        let deny = self.hints.deny_button.clone();
        self.press(page, &deny).await
    }

    fn should_stop(&self, url: &Url) -> bool {
        let url = url.as_str();
        self.stop_at.iter().any(|prefix| url.starts_with(prefix))
    }

    async fn navigate(
        &mut self,
        mut method: Method,
        mut url: Url,
        mut body: Option<String>,
    ) -> Result<Landing, AgentError> {
        for _ in 0..=MAX_HOPS {
            if self.should_stop(&url) {
                return Ok(Landing::Redirected(Callback::new(url)));
            }
            self.history.push(format!("{method} {}", url.path()));
            let mut request = self.client.request(method.clone(), url.clone());
            if let Some(body) = &body {
                request = request
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body.clone());
            }
            let response = request.send().await.map_err(|source| AgentError::Http {
                url: url.path().to_string(),
                source,
            })?;
            let status = response.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| url.join(v).ok())
                    .ok_or_else(|| AgentError::BadLocation {
                        status: status.as_u16(),
                        from: url.path().to_string(),
                    })?;
                // 307 and 308 repeat the request; the others become a GET.
                if !matches!(
                    status,
                    StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
                ) {
                    method = Method::GET;
                    body = None;
                }
                url = location;
                continue;
            }
            let headers = response.headers().clone();
            let final_url = response.url().clone();
            let html = response.text().await.map_err(|source| AgentError::Http {
                url: url.path().to_string(),
                source,
            })?;
            return Ok(Landing::Page(Page {
                status,
                url: final_url,
                headers,
                html,
            }));
        }
        Err(AgentError::TooManyRedirects(url.path().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(html: &str) -> Page {
        Page {
            status: StatusCode::OK,
            url: Url::parse("https://idp.example/authorize?client_id=x").unwrap(),
            headers: HeaderMap::new(),
            html: html.to_string(),
        }
    }

    #[test]
    fn reads_a_login_form_with_hidden_fields() {
        let page = page(
            r#"<html><body><form method="post" action="/login">
            <input type="hidden" name="txn" value="t1">
            <input type="hidden" name="csrf" value="c&amp;1">
            <input name="username" value="alice">
            <input type="password" name="pw">
            <input type="checkbox" name="remember">
            <button type="submit" name="op" value="go">Sign in</button>
            </form></body></html>"#,
        );
        let form = page.login_form(&FormHints::default()).unwrap().unwrap();
        assert_eq!(form.action.as_str(), "https://idp.example/login");
        assert_eq!(form.method, Method::POST);
        assert_eq!(form.value("csrf"), Some("c&1"));
        assert_eq!(form.value("username"), Some("alice"));
        assert_eq!(
            form.password_field(&FormHints::default()).as_deref(),
            Some("pw")
        );
        assert!(!form.has_field("remember"));
        let sent = form.submission(form.buttons.first());
        assert_eq!(sent.last().unwrap(), &("op".to_string(), "go".to_string()));
        assert!(!format!("{form:?}").contains("c&1"));
    }

    #[test]
    fn finds_consent_buttons_by_value_or_text() {
        let page = page(
            r#"<form method="post" action="consent">
            <input type="hidden" name="txn" value="t">
            <button type="submit" name="decision" value="allow">Allow</button>
            <button type="submit" name="decision" value="deny">Deny</button></form>"#,
        );
        let (form, button) = page.form_with_button("deny").unwrap().unwrap();
        assert_eq!(form.action.as_str(), "https://idp.example/consent");
        assert_eq!(button.value, "deny");
        let (_, button) = page.form_with_button("Allow").unwrap().unwrap();
        assert_eq!(button.value, "allow");
        assert!(page.form_with_button("maybe").unwrap().is_none());
    }

    #[test]
    fn callback_keeps_repeated_parameters_and_hides_values() {
        let callback = Callback::new(
            Url::parse("https://client.example/cb?code=secret&state=s&state=t").unwrap(),
        );
        assert_eq!(callback.get("code"), Some("secret"));
        assert_eq!(callback.count("state"), 2);
        assert!(!format!("{callback:?}").contains("secret"));
    }
}
