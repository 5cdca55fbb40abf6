//! A consumer's message and the bot's turn: the message joins the
//! transcript, the bot's dialog that matches it runs its integration
//! ([`crate::platform::integrations`]), and the answer (or a sign-in link)
//! joins the transcript too. `POST /api/conversations/{id}/messages
//! {"text"}` answers `{"replies":[{"text","link"?}]}`; the chat page uses
//! the same turn.
//!
//! Above both the conversations and the integrations, so neither imports
//! the other for it.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::PlatformState;
use super::conversations::http::{bad_json, unknown};
use super::conversations::{
    ConvInfo, ConversationId, MAX_MESSAGE_CHARS, MAX_REPLY_CHARS, Reply, cut,
};
use super::events::EventKind;
use super::web::error;
use super::{delegation, integrations};

#[derive(Deserialize)]
pub struct MessageBody {
    pub text: String,
}

/// Why a consumer message is refused, if it is: empty (once trimmed), on
/// more than one line, or longer than [`MAX_MESSAGE_CHARS`] characters.
pub fn refusal(text: &str) -> Option<String> {
    let chars = text.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        Some(format!(
            "text is {chars} characters long; a message is at most {MAX_MESSAGE_CHARS} characters"
        ))
    } else if text.is_empty() || text.chars().any(char::is_control) {
        Some(format!(
            "text is 1 to {MAX_MESSAGE_CHARS} characters on one line"
        ))
    } else {
        None
    }
}

/// Handle one consumer message; the replies are also in the transcript,
/// as they are returned (cut to [`MAX_REPLY_CHARS`] characters).
pub async fn handle_message(state: &PlatformState, conv: &ConvInfo, text: &str) -> Vec<Reply> {
    let now = state.clock.now();
    state.conversations.heard(&conv.id, now, text);
    let Some(bot) = state.bots.get(&conv.bot) else {
        return Vec::new();
    };
    let reply = match bot.dialog_for(text) {
        None => {
            state
                .conversations
                .event(&conv.id, now, EventKind::NoDialog);
            Reply::text(bot.fallback.clone())
        }
        Some((dialog, captures)) => {
            state.conversations.event(
                &conv.id,
                now,
                EventKind::DialogMatched {
                    dialog: dialog.name.clone(),
                },
            );
            let turn = integrations::start(state, conv, dialog, captures).await;
            delegation::reply(state, conv, turn)
        }
    };
    let reply = Reply {
        text: cut(&reply.text, MAX_REPLY_CHARS),
        ..reply
    };
    state.conversations.say(&conv.id, state.clock.now(), &reply);
    vec![reply]
}

pub async fn post_message(
    State(state): State<PlatformState>,
    Path(id): Path<ConversationId>,
    body: Result<Json<MessageBody>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_json(e),
    };
    let Some(conv) = state.conversations.info(&id) else {
        return unknown(&id);
    };
    if conv.closed {
        return error(
            StatusCode::CONFLICT,
            "conversation_closed",
            "this conversation is closed",
        );
    }
    let text = body.text.trim();
    if let Some(why) = refusal(text) {
        return error(StatusCode::BAD_REQUEST, "invalid_request", why);
    }
    let replies = handle_message(&state, &conv, text).await;
    Json(json!({ "replies": replies })).into_response()
}
