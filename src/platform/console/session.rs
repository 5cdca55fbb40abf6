//! Who may use an organisation's console: anyone, when the organisation
//! has no admin token (a platform on loopback); otherwise a browser that
//! gave the token once in this browser session.
//!
//! The token is checked once and never kept in the browser: the browser
//! gets a random session id in a cookie without an expiry (it ends with
//! the browser session), `HttpOnly`, `SameSite=Strict` and limited to
//! `/console` (`Secure` when the platform is reached over https). The
//! platform keeps which organisations each session opened, for
//! [`LIFETIME_SECS`] on the shared clock, and at most [`CAPACITY`]
//! sessions (the oldest go first).
//!
//! Forms are posted only from the console itself: a post whose `Origin`
//! is another site, or that the browser marks `Sec-Fetch-Site:
//! cross-site`, is refused (with `SameSite=Strict`, a defence in depth
//! against cross-site request forgery).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};

use super::layout::{self, Place, attr, segment};
use crate::clock::Instant;
use crate::platform::PlatformState;
use crate::platform::org::Org;
use crate::secret::random_token;

/// How long a session lasts at most, on the shared clock.
pub const LIFETIME_SECS: i64 = 12 * 3600;
/// How many sessions are kept at most.
pub const CAPACITY: usize = 1000;
const COOKIE: &str = "standin_console";

struct Session {
    orgs: BTreeSet<String>,
    expires_at: Instant,
}

/// The console's sessions. Cloning shares them.
#[derive(Clone, Default)]
pub struct Sessions {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<String, Session>,
    order: VecDeque<String>,
}

impl Sessions {
    /// Whether session `id` opened `org` and is still live at `now`.
    fn opened(&self, id: &str, org: &str, now: Instant) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .by_id
            .get(id)
            .is_some_and(|s| s.expires_at > now && s.orgs.contains(org))
    }

    /// Record that session `id` (a new one when `None` or unknown) opened
    /// `org`; returns the session's id.
    fn open(&self, id: Option<&str>, org: &str, now: Instant) -> String {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = id.and_then(|id| inner.by_id.get_mut(id))
            && s.expires_at > now
        {
            s.orgs.insert(org.to_string());
            return id.unwrap_or_default().to_string();
        }
        let id = random_token(32);
        while inner.order.len() >= CAPACITY {
            if let Some(old) = inner.order.pop_front() {
                inner.by_id.remove(&old);
            }
        }
        inner.by_id.insert(
            id.clone(),
            Session {
                orgs: BTreeSet::from([org.to_string()]),
                expires_at: now + crate::clock::secs(LIFETIME_SECS),
            },
        );
        inner.order.push_back(id.clone());
        id
    }
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sessions([redacted])")
    }
}

/// The session id the browser sent, if any.
fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_string())
}

/// The organisation, if it exists and this browser may use its console;
/// otherwise the page to show instead (not found, or the admin token form).
#[allow(clippy::result_large_err)]
pub fn admitted(state: &PlatformState, org: &str, headers: &HeaderMap) -> Result<Org, Response> {
    admitted_after(state, org, headers, false)
}

/// [`admitted`]; the token form says `wrong_token` was just given.
#[allow(clippy::result_large_err)]
pub fn admitted_after(
    state: &PlatformState,
    org: &str,
    headers: &HeaderMap,
    wrong_token: bool,
) -> Result<Org, Response> {
    let Some(o) = state.org(org) else {
        return Err(layout::page(
            StatusCode::NOT_FOUND,
            "No such organisation",
            Place::UnderOrganisations,
            "<p>This platform has no such organisation. Choose one from the list.</p>",
        ));
    };
    if o.admin_token.is_none()
        || session_id(headers)
            .is_some_and(|id| state.console.opened(&id, o.id.as_str(), state.clock.now()))
    {
        return Ok(o);
    }
    Err(token_form(
        &o,
        wrong_token
            .then_some("This is not the organisation's admin token. Check it and enter it again."),
    ))
}

/// The form that asks for the organisation's admin token.
fn token_form(org: &Org, problem: Option<&str>) -> Response {
    let id = org.id.as_str();
    let (invalid, error) = match problem {
        Some(p) => (
            " aria-invalid=\"true\" aria-describedby=\"admin_token-error\"",
            format!(
                "<p class=\"error\" id=\"admin_token-error\">{}</p>",
                layout::text(p)
            ),
        ),
        None => ("", String::new()),
    };
    layout::page(
        StatusCode::OK,
        &format!("Organisation {id}"),
        Place::Org(id),
        &format!(
            "<p>This organisation's credentials are behind its admin token. Enter it once: \
             this browser keeps access until it is closed.</p>\
             <form method=\"post\" action=\"/console/orgs/{seg}/session\">\
             <div class=\"field\"><label for=\"admin_token\">Admin token</label>\
             <input type=\"password\" id=\"admin_token\" name=\"admin_token\" autocomplete=\"off\" required autofocus{invalid}>\
             {error}</div><button>Continue</button></form>",
            seg = attr(&segment(id)),
        ),
    )
}

/// Whether a form post comes from the console's own pages.
pub fn same_site(headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    url::Url::parse(origin).is_ok_and(|o| {
        let authority = match o.port() {
            Some(p) => format!("{}:{p}", o.host_str().unwrap_or_default()),
            None => o.host_str().unwrap_or_default().to_string(),
        };
        authority.eq_ignore_ascii_case(host)
    })
}

/// The page for a post from elsewhere.
pub fn cross_site() -> Response {
    layout::page(
        StatusCode::FORBIDDEN,
        "Refused",
        Place::Nowhere,
        "<p>This form was sent from another site. Nothing was changed; use the console's own pages.</p>",
    )
}

/// `POST /console/orgs/{org}/session`: check the admin token and open
/// the organisation for this browser session.
pub async fn start(
    State(state): State<PlatformState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<TokenForm>,
) -> Response {
    if !same_site(&headers) {
        return cross_site();
    }
    let Some(o) = state.org(&org) else {
        return admitted(&state, &org, &headers)
            .err()
            .unwrap_or_else(cross_site);
    };
    let Some(expected) = &o.admin_token else {
        return layout::see_other(&format!("/console/orgs/{}", segment(&org)));
    };
    if !expected.matches(form.admin_token.trim()) {
        tracing::info!(org = %o.id, "console: wrong admin token");
        // Post, redirect, get: the page that says so can be reloaded.
        return layout::see_other(&format!("/console/orgs/{}?token=wrong", segment(&org)));
    }
    let id = state.console.open(
        session_id(&headers).as_deref(),
        o.id.as_str(),
        state.clock.now(),
    );
    // No Max-Age or Expires: it ends with the browser session.
    let cookie = Cookie::build((COOKIE, id))
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.url().starts_with("https:"))
        .build();
    let mut response = layout::see_other(&format!("/console/orgs/{}", segment(&org)));
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response.into_response()
}

#[derive(serde::Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    admin_token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> crate::clock::Instant {
        crate::clock::Instant::from_unix_secs(secs)
    }

    #[test]
    fn a_session_opens_its_organisations_for_its_lifetime() {
        let sessions = Sessions::default();
        let id = sessions.open(None, "acme", at(100));
        assert!(sessions.opened(&id, "acme", at(100)));
        assert!(!sessions.opened(&id, "other", at(100)));
        assert!(!sessions.opened("forged", "acme", at(100)));
        assert_eq!(sessions.open(Some(&id), "other", at(101)), id);
        assert!(sessions.opened(&id, "other", at(101)));
        assert!(!sessions.opened(&id, "acme", at(100 + LIFETIME_SECS)));
    }

    #[test]
    fn the_oldest_sessions_go_first() {
        let sessions = Sessions::default();
        let first = sessions.open(None, "acme", at(0));
        for _ in 0..CAPACITY {
            sessions.open(None, "acme", at(0));
        }
        assert!(!sessions.opened(&first, "acme", at(0)));
        assert_eq!(
            sessions.inner.lock().unwrap().by_id.len(),
            CAPACITY,
            "bounded"
        );
    }

    #[test]
    fn posts_from_another_site_are_refused() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        assert!(same_site(&headers(&[("host", "127.0.0.1:8402")])));
        assert!(same_site(&headers(&[
            ("host", "127.0.0.1:8402"),
            ("origin", "http://127.0.0.1:8402")
        ])));
        assert!(!same_site(&headers(&[
            ("host", "127.0.0.1:8402"),
            ("origin", "http://evil.example")
        ])));
        assert!(!same_site(&headers(&[
            ("host", "127.0.0.1:8402"),
            ("sec-fetch-site", "cross-site")
        ])));
    }
}
