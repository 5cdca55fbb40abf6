//! The pages the consumer's browser sees after signing in: plain HTML, no
//! script, not frameable, nothing reflected unescaped.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A small page with a title and a sentence or two.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta name=\"viewport\" content=\"width=device-width\"></head>\
         <body style=\"font-family:sans-serif;max-width:36em;margin:3em auto\">\
         <h1>{t}</h1><p>{b}</p></body></html>",
        t = html_escape::encode_text(title),
        b = html_escape::encode_text(body),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html,
    )
        .into_response()
}

pub fn signed_in() -> Response {
    page(
        StatusCode::OK,
        "You are signed in",
        "Thank you. You can close this page and return to the chat: the bot is answering there.",
    )
}

pub fn refused(reason: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "This sign-in link cannot be used",
        &format!(
            "{reason} Nothing was changed. Return to the chat and ask again to get a new link."
        ),
    )
}

pub fn declined() -> Response {
    page(
        StatusCode::OK,
        "Sign-in cancelled",
        "You did not allow access, so nothing was shared. You can return to the chat.",
    )
}

pub fn authorization_error() -> Response {
    page(
        StatusCode::OK,
        "Sign-in did not complete",
        "The brand's sign-in service reported an error. You can return to the chat and try again.",
    )
}

pub fn exchange_failed() -> Response {
    page(
        StatusCode::BAD_GATEWAY,
        "Sign-in failed",
        "The brand's sign-in service did not complete the sign-in. Return to the chat: a new link is waiting there.",
    )
}
