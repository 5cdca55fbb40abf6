//! A minimal chat page for people: `GET /chat` starts a conversation with
//! the demo bot (or `?org=..&bot=..`), `GET /chat/{id}` shows the
//! transcript with the authentication link, and a plain form posts
//! messages. No JavaScript; reload after signing in to see the answer.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PlatformState;
use super::conversations::Party;
use super::conversations::http::{OpenBody, open};
use super::dialog::handle_message;
use super::web::page;

#[derive(Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    org: Option<String>,
    #[serde(default)]
    bot: Option<String>,
}

/// `GET /chat`: open a conversation and go to its page.
pub async fn start(State(state): State<PlatformState>, Query(q): Query<StartQuery>) -> Response {
    let org = q
        .org
        .or_else(|| state.first_org())
        .unwrap_or_else(|| "demo".into());
    let bot = q
        .bot
        .or_else(|| state.bots.keys().next().cloned())
        .unwrap_or_else(|| "demo-bot".into());
    match open(
        &state,
        OpenBody {
            org,
            bot,
            consumer_id: None,
            consumer_session: None,
        },
    ) {
        Ok(id) => Redirect::to(&format!("/chat/{id}")).into_response(),
        Err(_) => page(
            StatusCode::NOT_FOUND,
            "No such bot",
            "This platform has no such organisation or bot.",
        ),
    }
}

/// `GET /chat/{id}`: the transcript and a message form.
pub async fn show(State(state): State<PlatformState>, Path(id): Path<String>) -> Response {
    let Some(html) = state.conversations.read(&id, |c| {
        let mut lines = String::new();
        for m in &c.transcript {
            let who = match m.from {
                Party::Consumer => "You",
                Party::Bot => "Bot",
            };
            lines.push_str(&format!(
                "<p><b>{who}:</b> {}",
                html_escape::encode_text(&m.text)
            ));
            if let Some(link) = &m.link {
                lines.push_str(&format!(
                    " <a href=\"{}\" target=\"_blank\" rel=\"noopener noreferrer\">Sign in</a>",
                    html_escape::encode_double_quoted_attribute(link)
                ));
            }
            lines.push_str("</p>\n");
        }
        let form = if c.closed {
            "<p><i>This conversation is closed.</i></p>".to_string()
        } else {
            format!(
                "<form method=\"post\" action=\"/chat/{id}\"><input name=\"text\" autofocus \
                 placeholder=\"my orders\" size=\"40\"> <button>Send</button></form>\
                 <p><a href=\"/chat/{id}\">Refresh</a> after signing in to see the answer.</p>",
                id = html_escape::encode_double_quoted_attribute(&c.id)
            )
        };
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Chat</title></head>\
             <body style=\"font-family:sans-serif;max-width:40em;margin:2em auto\"><h1>Chat with {bot}</h1>\
             {lines}{form}</body></html>",
            bot = html_escape::encode_text(&c.bot)
        )
    }) else {
        return page(
            StatusCode::NOT_FOUND,
            "No such conversation",
            "Start a new one at /chat.",
        );
    };
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        html,
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct SayForm {
    text: String,
}

/// `POST /chat/{id}`: a consumer message from the form.
pub async fn say(
    State(state): State<PlatformState>,
    Path(id): Path<String>,
    Form(form): Form<SayForm>,
) -> Response {
    if let Some(conv) = state.conversations.info(&id).filter(|c| !c.closed) {
        let text = form.text.trim();
        if !text.is_empty() && text.len() <= 2000 && !text.chars().any(char::is_control) {
            handle_message(&state, &conv, text).await;
        }
    }
    let id = super::integrations::template::encode_component(&id);
    Redirect::to(&format!("/chat/{id}")).into_response()
}
