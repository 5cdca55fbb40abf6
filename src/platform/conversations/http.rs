//! The conversation API.
//!
//! | call | answer |
//! |---|---|
//! | `POST /api/conversations {"org","bot","consumer_id"?}` | 201 `{"id"}` |
//! | `POST /api/conversations/{id}/messages {"text"}` | 200 `{"replies":[{"text","link"?}]}` |
//! | `GET /api/conversations/{id}/transcript` | `{"id","org","bot","consumer_id","closed","messages":[{"from","at","text","link"?}]}` |
//! | `GET /api/conversations/{id}/events` | `{"events":[{"at","kind",...}]}` |
//! | `GET /api/conversations/{id}/context` | `{"access_token_present","access_token_expires_at","refresh_token_present"}` |
//! | `DELETE /api/conversations/{id}` | 204 (the context is purged) |
//!
//! Errors are `{"error","error_description"}` with 400, 404 or 409.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{ConvInfo, Reply};
use crate::platform::PlatformState;
use crate::platform::events::EventKind;
use crate::platform::integrations;

/// Longest consumer message accepted.
const MAX_TEXT: usize = 2000;

pub fn error(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description.into() })),
    )
        .into_response()
}

fn bad_json(e: JsonRejection) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_request", e.body_text())
}

fn unknown(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no conversation {id:?}"),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenBody {
    pub org: String,
    pub bot: String,
    #[serde(default)]
    pub consumer_id: Option<String>,
}

/// Open a conversation; the checks shared with the chat page.
pub fn open(state: &PlatformState, body: OpenBody) -> Result<String, Box<Response>> {
    let Some(org) = state.org(&body.org) else {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("no organisation {:?}", body.org),
        )));
    };
    if !state.bots.contains_key(&body.bot) {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("no bot {:?}", body.bot),
        )));
    }
    if body
        .consumer_id
        .as_ref()
        .is_some_and(|c| c.is_empty() || c.len() > 200)
    {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "consumer_id is 1 to 200 characters",
        )));
    }
    Ok(state
        .conversations
        .open(org.id, body.bot, body.consumer_id, state.clock.now()))
}

pub async fn create(
    State(state): State<PlatformState>,
    body: Result<Json<OpenBody>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_json(e),
    };
    match open(&state, body) {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "id": id }))).into_response(),
        Err(r) => *r,
    }
}

#[derive(Deserialize)]
pub struct MessageBody {
    pub text: String,
}

/// Handle one consumer message; the replies are also in the transcript.
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
            integrations::start(state, conv, dialog, captures).await
        }
    };
    state.conversations.say(&conv.id, state.clock.now(), &reply);
    vec![reply]
}

pub async fn post_message(
    State(state): State<PlatformState>,
    Path(id): Path<String>,
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
    if text.is_empty() || text.len() > MAX_TEXT || text.chars().any(char::is_control) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("text is 1 to {MAX_TEXT} characters on one line"),
        );
    }
    let replies = handle_message(&state, &conv, text).await;
    Json(json!({ "replies": replies })).into_response()
}

pub async fn transcript(State(state): State<PlatformState>, Path(id): Path<String>) -> Response {
    state
        .conversations
        .read(&id, |c| {
            Json(json!({
                "id": c.id,
                "org": c.org,
                "bot": c.bot,
                "consumer_id": c.consumer_id,
                "closed": c.closed,
                "messages": c.transcript,
            }))
            .into_response()
        })
        .unwrap_or_else(|| unknown(&id))
}

pub async fn events(State(state): State<PlatformState>, Path(id): Path<String>) -> Response {
    state
        .conversations
        .read(&id, |c| {
            Json(json!({ "events": c.events.events() })).into_response()
        })
        .unwrap_or_else(|| unknown(&id))
}

pub async fn context(State(state): State<PlatformState>, Path(id): Path<String>) -> Response {
    match state.conversations.context(&id) {
        Some(view) => Json(view).into_response(),
        None => unknown(&id),
    }
}

pub async fn close(State(state): State<PlatformState>, Path(id): Path<String>) -> Response {
    if state.conversations.close(&id, state.clock.now()) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        unknown(&id)
    }
}
