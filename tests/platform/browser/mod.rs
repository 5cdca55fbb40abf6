//! The pages people use, in real headless Chromium (Debian's `chromium`
//! and `chromium-driver`; `.ci/run` installs them when missing): the chat
//! page ([`chat`]), the vault console ([`console`]) and the IdP inspector.
//!
//! Every page visited goes through [`check_page`]: no console errors, a
//! strict Content-Security-Policy, a label on every input, every control
//! reachable with the Tab key, and no canary secret anywhere in the DOM.
//! Each test saves a screenshot of each page (`target/screenshots/`; the
//! README shows copies from `docs/screenshots/`).

mod chat;
mod console;

use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, Locator};
use serde_json::Value;
use standin::conform::chromium::Driver;

/// How many times, [`PAUSE`] apart, the page is looked at before a test
/// gives up: 15 s, for a loaded two-core machine running tests side by
/// side. A bound on polling a page that changes by itself (elements
/// appear, go stale, are replaced), not a timing assertion, and never
/// a wait for an expiry: expiry is a move of the shared clock.
pub const POLLS: usize = 300;
const PAUSE: Duration = Duration::from_millis(50);

/// `attempt` until it gives a value, at most [`POLLS`] times; the one
/// place the browser tests wait.
pub async fn poll<T, F: Future<Output = Option<T>>>(mut attempt: impl FnMut() -> F) -> Option<T> {
    for _ in 0..POLLS {
        if let Some(value) = attempt().await {
            return Some(value);
        }
        tokio::time::sleep(PAUSE).await;
    }
    None
}

/// A fresh headless Chromium that records its console.
pub async fn browser(driver: &Driver) -> Client {
    driver
        .browser(&["--window-size=1200,1000".into()])
        .await
        .expect("a Chromium session")
}

/// Click the element, found afresh until the click lands: a page that
/// replaces its live part at every event may make a found element stale.
pub async fn press(client: &Client, at: Locator<'_>) {
    poll(|| async { client.find(at).await.ok()?.click().await.ok() })
        .await
        .unwrap_or_else(|| panic!("{at:?} could not be clicked"));
}

/// Type `text` into the element, found afresh until it takes it.
pub async fn type_into(client: &Client, at: Locator<'_>, text: &str) {
    poll(|| async { client.find(at).await.ok()?.send_keys(text).await.ok() })
        .await
        .unwrap_or_else(|| panic!("{at:?} could not be typed into"));
}

/// The text of the element, found afresh until it is read.
pub async fn text_of(client: &Client, at: Locator<'_>) -> String {
    poll(|| async { client.find(at).await.ok()?.text().await.ok() })
        .await
        .unwrap_or_else(|| panic!("{at:?} could not be read"))
}

/// The element's text once it contains `wanted`, or as last read.
pub async fn until_text(client: &Client, at: Locator<'_>, wanted: &str) -> String {
    let reached = poll(|| async {
        let text = text_of(client, at).await;
        text.contains(wanted).then_some(text)
    })
    .await;
    match reached {
        Some(text) => text,
        None => text_of(client, at).await,
    }
}

/// Save a screenshot of the page as `target/screenshots/{name}.png`.
pub async fn screenshot(client: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Press the Tab key, wherever the focus is (as a keyboard does: sent
/// to the focused element, a file input would take it for a path).
pub async fn tab(client: &Client) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: '\u{e004}' })
        .then(KeyAction::Up { value: '\u{e004}' });
    client.perform_actions(keys).await.unwrap();
}

/// ChromeDriver's `POST /session/{id}/se/log` for the browser's console
/// (the session asks for it with `goog:loggingPrefs`).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(r#"{"type":"browser"}"#.into()),
        )
    }
}

/// The console's errors since the last call (ChromeDriver drains its log
/// as it is read): a refused script or style, a failed request, an
/// uncaught exception.
pub async fn console_errors(client: &Client) -> Vec<String> {
    let log = client
        .issue_cmd(BrowserLog)
        .await
        .expect("the browser's console log");
    log.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Inputs without a label: neither `<label for>`, nor inside a `<label>`,
/// nor `aria-label`/`aria-labelledby`.
const UNLABELLED: &str = r#"
return Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(e => e.type !== 'hidden' && e.type !== 'submit' && e.type !== 'button')
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
            && !e.getAttribute('aria-labelledby'))
  .map(e => e.outerHTML);
"#;

/// The controls a keyboard user must reach, in document order (the
/// items of a closed menu are reached once it is opened).
const FOCUSABLE: &str = r#"
var all = Array.from(document.querySelectorAll(
  'a[href], button, input, select, textarea, summary'))
  .filter(e => !e.disabled && e.type !== 'hidden' && e.tabIndex >= 0
            && e.getClientRects().length > 0)
  .filter(e => {
    var closed = e.closest('details:not([open])');
    return !closed || (e.tagName === 'SUMMARY' && e.parentElement === closed);
  });
return all.map(e => e.outerHTML.slice(0, 120));
"#;

/// Where the keyboard focus is.
const ACTIVE: &str =
    "return document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : '';";

/// Check the page the browser shows now, served at its current URL:
/// - no errors in the console (a script or style the policy refused is one);
/// - the Content-Security-Policy allows scripts from the page's own
///   origin at most (no `'unsafe-inline'`, no other host), and the DOM
///   has no inline script or event-handler attribute; styles come from
///   the page's own origin or by hash, never `'unsafe-inline'`;
/// - every input has a label;
/// - pressing Tab from the top reaches every control;
/// - none of `canaries` appears anywhere in the DOM.
///
/// `cookie` is what the browser would send (the console's session), so
/// that the policy read is the one of the page shown.
pub async fn check_page(client: &Client, canaries: &[&str]) {
    let url = client.current_url().await.unwrap();
    let errors = console_errors(client).await;
    assert!(errors.is_empty(), "console errors on {url}: {errors:#?}");

    let cookies = client.get_all_cookies().await.unwrap_or_default();
    let cookie = cookies
        .iter()
        .map(|c| format!("{}={}", c.name(), c.value()))
        .collect::<Vec<_>>()
        .join("; ");
    let answer = reqwest::Client::new()
        .get(url.as_str())
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let policy = answer
        .headers()
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{url} has no Content-Security-Policy"))
        .to_str()
        .unwrap()
        .to_string();
    let directive = |name: &str| {
        policy
            .split(';')
            .map(str::trim)
            .find(|d| d.split_whitespace().next() == Some(name))
            .map(str::to_string)
    };
    match directive("script-src") {
        Some(s) => assert_eq!(s, "script-src 'self'", "{url}: {policy}"),
        None => assert_eq!(
            directive("default-src").as_deref(),
            Some("default-src 'none'"),
            "{url}: {policy}"
        ),
    }
    assert!(directive("frame-ancestors").is_some(), "{url}: {policy}");
    assert!(
        !policy.contains("'unsafe-inline'") && !policy.contains("'unsafe-hashes'"),
        "{url} allows inline styles or scripts: {policy}"
    );
    if let Some(styles) = directive("style-src") {
        assert!(
            styles
                .split_whitespace()
                .skip(1)
                .all(|s| s == "'self'" || s.starts_with("'sha256-")),
            "{url}: {policy}"
        );
    }

    let source = client.source().await.unwrap();
    let inline = client
        .execute(
            "return Array.from(document.querySelectorAll('script:not([src])')).length \
             + Array.from(document.querySelectorAll('*')).filter(e => \
               Array.from(e.attributes).some(a => a.name.startsWith('on'))).length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(inline, Value::from(0), "{url} has inline script: {source}");

    let unlabelled = client.execute(UNLABELLED, vec![]).await.unwrap();
    assert_eq!(
        unlabelled,
        Value::Array(vec![]),
        "{url} has inputs without a label"
    );

    let focusable: Vec<String> =
        serde_json::from_value(client.execute(FOCUSABLE, vec![]).await.unwrap()).unwrap();
    let mut reached = Vec::new();
    // From the top of the page, Tab through every control once.
    client
        .execute(
            "document.activeElement && document.activeElement.blur(); window.focus();",
            vec![],
        )
        .await
        .unwrap();
    for _ in 0..(focusable.len() + 5) {
        tab(client).await;
        let active: String =
            serde_json::from_value(client.execute(ACTIVE, vec![]).await.unwrap()).unwrap();
        if !reached.contains(&active) {
            reached.push(active);
        }
    }
    let missed: Vec<&String> = focusable.iter().filter(|f| !reached.contains(f)).collect();
    assert!(
        missed.is_empty(),
        "{url}: the Tab key never reaches {missed:#?}"
    );

    let dom: String = serde_json::from_value(
        client
            .execute(
                "return document.documentElement.outerHTML + Array.from(document.querySelectorAll('input, textarea')).map(e => e.value).join(' ');",
                vec![],
            )
            .await
            .unwrap(),
    )
    .unwrap();
    for canary in canaries {
        assert!(
            !dom.contains(canary) && !source.contains(canary),
            "{url} shows the secret {canary:?}"
        );
    }
}
