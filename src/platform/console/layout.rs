//! What every console page is made of: the frame (title, where you are,
//! the stylesheet and the one script), the policy it is served under, and
//! escaping.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Scripts and styles from the platform itself only; forms post to it
/// only; nothing frames it.
pub const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Escape text for an element's content.
pub fn text(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
}

/// Escape text for a double-quoted attribute.
pub fn attr(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(s).into_owned()
}

/// A path segment (organisation and credential names sit in paths).
pub fn segment(s: &str) -> String {
    crate::platform::integrations::template::encode_component(s)
}

/// A link of the breadcrumb.
pub struct Crumb<'a> {
    pub label: &'a str,
    pub href: Option<String>,
}

/// A console page. `body` is HTML already escaped.
pub fn page(status: StatusCode, title: &str, crumbs: &[Crumb<'_>], body: &str) -> Response {
    let mut trail = String::from("<nav aria-label=\"You are here\"><ol class=\"crumbs\">");
    for c in crumbs {
        match &c.href {
            Some(href) => trail.push_str(&format!(
                "<li><a href=\"{}\">{}</a></li>",
                attr(href),
                text(c.label)
            )),
            None => trail.push_str(&format!("<li aria-current=\"page\">{}</li>", text(c.label))),
        }
    }
    trail.push_str("</ol></nav>");
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{t} · Bot Accounts</title>\
         <link rel=\"icon\" href=\"/console/icon.svg\">\
         <link rel=\"stylesheet\" href=\"/console/console.css\">\
         <script src=\"/console/console.js\" defer></script></head>\
         <body><header><p class=\"app\">Bot Accounts</p>{trail}</header>\
         <main><h1>{t}</h1>{body}</main></body></html>",
        t = text(title),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            // Not no-referrer: with it the browser sends `Origin: null` on
            // the console's own form posts, which then cannot be told from
            // a forged one.
            (header::REFERRER_POLICY, "same-origin"),
        ],
        html,
    )
        .into_response()
}

/// 303 to `to` (after a form post, the browser GETs it).
pub fn see_other(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// `GET /console/console.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("console.css"),
    )
        .into_response()
}

/// `GET /console/icon.svg`: the tab's icon (a key).
pub async fn icon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><circle cx=\"5\" cy=\"8\" r=\"3.5\" fill=\"none\" stroke=\"#16324f\" stroke-width=\"2\"/><path d=\"M8 8h7M13 8v3M11 8v2\" stroke=\"#16324f\" stroke-width=\"2\"/></svg>",
    )
        .into_response()
}

/// `GET /console/console.js`: the Copy buttons.
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("console.js"),
    )
        .into_response()
}
