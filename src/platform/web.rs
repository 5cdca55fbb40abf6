//! What every page and JSON error of the platform is made of, shared by its
//! folders (so none of them imports another for it): the JSON error body
//! (`{"error","error_description"}`, RFC 6749 5.2's shape) and the small
//! HTML page a browser sees (no script, not frameable, nothing reflected
//! unescaped).

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// `{"error": error, "error_description": description}` with `status`.
pub fn error(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description.into() })),
    )
        .into_response()
}

/// The small page's stylesheet, allowed by its hash (no `'unsafe-inline'`).
const STYLE: &str = "body{font-family:sans-serif;max-width:36em;margin:3em auto}";

static POLICY: crate::server::page_policy::Policy = crate::server::page_policy::Policy::new(
    "default-src 'none'; style-src {style}; frame-ancestors 'none'; base-uri 'none'",
    STYLE,
);

/// A small page with a title and a sentence or two.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    page_with_link(status, title, body, None)
}

/// [`page`], with a link onwards (`(text, href)`, a path of this party).
pub fn page_with_link(
    status: StatusCode,
    title: &str,
    body: &str,
    link: Option<(&str, &str)>,
) -> Response {
    let link = link
        .map(|(text, href)| {
            format!(
                "<p><a href=\"{}\">{}</a></p>",
                html_escape::encode_double_quoted_attribute(href),
                html_escape::encode_text(text)
            )
        })
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta name=\"viewport\" content=\"width=device-width\"><style>{STYLE}</style></head><body>\
         <h1>{t}</h1><p>{b}</p>{link}</body></html>",
        t = html_escape::encode_text(title),
        b = html_escape::encode_text(body),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CONTENT_SECURITY_POLICY, POLICY.get()),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html,
    )
        .into_response()
}
