//! The conversation API.
//!
//! | call | answer |
//! |---|---|
//! | `POST /api/conversations {"org","bot","consumer_id"?,"consumer_session"?}` | 201 `{"id","authenticated"}` |
//! | `POST /api/conversations/{id}/messages {"text"}` | 200 `{"replies":[{"text","link"?}]}` ([`crate::platform::dialog`]); 400 when `text` is empty, on more than one line or longer than 2,000 characters ([`super::MAX_MESSAGE_CHARS`]), and nothing is appended |
//! | `GET /api/conversations/{id}/transcript` | `{"id","org","bot","consumer_id","authenticated","closed","earlier_messages_dropped","messages":[{"from","at","text","link"?}]}` |
//! | `GET /api/conversations/{id}/events` | `{"earlier_events_dropped","events":[{"at","kind",...}]}` |
//! | `GET /api/conversations/{id}/context` | `{"access_token_present","access_token_expires_at","refresh_token_present"}` |
//! | `DELETE /api/conversations/{id}` | 204 (the context is purged) |
//!
//! `consumer_session` is the handle (`session_token`) a Consumer
//! Pre-Authentication sign-in answered
//! ([`crate::platform::consumer_sessions::http`]), presented by the brand's
//! messaging client: the conversation is then authenticated for that
//! session's consumer, and integrations may use that session's tokens in
//! it, as long as that session lives: once it has ended (or a new sign-in
//! has replaced it), the conversation gets no tokens again, and the
//! consumer continues in a conversation opened with the new sign-in's
//! handle. A `consumer_id` without it is only a label: it authenticates
//! nobody.
//! A handle that is unknown, of an ended or expired session, or of another
//! organisation than `org` (or given with another `consumer_id` than its
//! consumer's) is refused with 403 `invalid_consumer_session`, the same
//! answer whatever the reason. The handle is never kept, logged or shown.
//!
//! A conversation keeps its newest messages and events only
//! ([`super::ConversationLimits`]): `earlier_messages_dropped` and
//! `earlier_events_dropped` say how many earlier ones are no longer kept,
//! always present (0 when none were dropped). A message's place among all
//! the conversation's messages (counting from 0) is
//! `earlier_messages_dropped` plus its index in `messages`; likewise for
//! events.
//!
//! Errors are `{"error","error_description"}` with 400, 403, 404 or 409.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::platform::PlatformState;
use crate::secret::Secret;

use super::ConversationId;
pub use crate::platform::web::error;

pub(crate) fn bad_json(e: JsonRejection) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_request", e.body_text())
}

pub(crate) fn unknown(id: &ConversationId) -> Response {
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
    /// The handle of the consumer's session, when the consumer signed in on
    /// the brand's side before the conversation.
    #[serde(default)]
    pub consumer_session: Option<Secret>,
}

/// The one answer to a consumer session handle that authenticates nobody
/// here: it does not say why.
fn session_refused() -> Box<Response> {
    Box::new(error(
        StatusCode::FORBIDDEN,
        "invalid_consumer_session",
        "the consumer session is not valid for this organisation: it is unknown, has ended or expired, or belongs to another organisation or consumer; sign the consumer in again on the brand's website and present the new session_token",
    ))
}

/// Open a conversation; the checks shared with the chat page.
pub fn open(state: &PlatformState, body: OpenBody) -> Result<ConversationId, Box<Response>> {
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
    let authenticated = match &body.consumer_session {
        None => None,
        Some(handle) => {
            let consumer = state
                .consumer_sessions
                .authenticate(state, &org.id, handle.expose());
            match consumer {
                Some(a)
                    if body
                        .consumer_id
                        .as_deref()
                        .is_none_or(|id| id == a.consumer.as_str()) =>
                {
                    Some(a)
                }
                _ => {
                    tracing::info!(org = %org.id, "conversation refused: invalid consumer session");
                    return Err(session_refused());
                }
            }
        }
    };
    Ok(state.conversations.open(
        org.id,
        body.bot,
        body.consumer_id,
        authenticated,
        state.clock.now(),
    ))
}

pub async fn create(
    State(state): State<PlatformState>,
    body: Result<Json<OpenBody>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_json(e),
    };
    let authenticated = body.consumer_session.is_some();
    match open(&state, body) {
        Ok(id) => (
            StatusCode::CREATED,
            Json(json!({ "id": id, "authenticated": authenticated })),
        )
            .into_response(),
        Err(r) => *r,
    }
}

pub async fn transcript(
    State(state): State<PlatformState>,
    Path(id): Path<ConversationId>,
) -> Response {
    state
        .conversations
        .read(&id, |c| {
            Json(json!({
                "id": c.id,
                "org": c.org,
                "bot": c.bot,
                "consumer_id": c.consumer_id,
                "authenticated": c.authenticated.is_some(),
                "closed": c.closed,
                "earlier_messages_dropped": c.transcript.dropped(),
                "messages": c.transcript,
            }))
            .into_response()
        })
        .unwrap_or_else(|| unknown(&id))
}

pub async fn events(
    State(state): State<PlatformState>,
    Path(id): Path<ConversationId>,
) -> Response {
    state
        .conversations
        .read(&id, |c| {
            Json(json!({
                "earlier_events_dropped": c.events.dropped(),
                "events": c.events.events(),
            }))
            .into_response()
        })
        .unwrap_or_else(|| unknown(&id))
}

pub async fn context(
    State(state): State<PlatformState>,
    Path(id): Path<ConversationId>,
) -> Response {
    match state.conversations.context(&id) {
        Some(view) => Json(view).into_response(),
        None => unknown(&id),
    }
}

pub async fn close(State(state): State<PlatformState>, Path(id): Path<ConversationId>) -> Response {
    if state.conversations.close(&id, state.clock.now()) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        unknown(&id)
    }
}
