//! The pages the consumer's browser sees after signing in: plain HTML, no
//! script, not frameable, nothing reflected unescaped.

use axum::http::StatusCode;
use axum::response::Response;

pub use crate::platform::web::page;

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
