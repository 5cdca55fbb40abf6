//! A chat page for people: `GET /chat` starts a conversation with the demo
//! bot (or `?org=..&bot=..`), `GET /chat/{id}` shows the transcript, the
//! sign-in link as a button that opens the IdP in a new tab, a plain form
//! for messages and a clock control ("+5 minutes", to watch a token
//! expire). The page follows its transcript over Server-Sent Events
//! (`GET /chat/{id}/updates`, with `/chat.js`, the only script, allowed by
//! a strict Content-Security-Policy), so the answer appears when the
//! consumer comes back from signing in; without JavaScript, a reload shows
//! it.

use std::convert::Infallible;
use std::time::Duration;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tokio::sync::broadcast::error::TryRecvError;

use super::PlatformState;
use super::conversations::http::{OpenBody, open};
use super::conversations::{ConversationId, MAX_MESSAGE_CHARS, Party};
use super::dialog::{handle_message, refusal};
use super::web::page;
use crate::server::page_policy::Policy;

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

/// The transcript as HTML: each message, the sign-in link as a button.
fn transcript(c: &super::conversations::Conversation) -> String {
    let mut lines = String::new();
    let dropped = c.transcript.dropped();
    if dropped > 0 {
        lines.push_str(&format!(
            "<p class=\"dropped\"><i>{} no longer kept.</i></p>\n",
            super::capped::earlier(dropped, "message")
        ));
    }
    for (seq, m) in c.transcript.numbered() {
        let who = match m.from {
            Party::Consumer => "You",
            Party::Bot => "Bot",
        };
        lines.push_str(&format!(
            "<p class=\"{class}\"><b>{who}:</b> {}",
            html_escape::encode_text(&m.text),
            class = if who == "You" { "you" } else { "bot" }
        ));
        if let Some(link) = &m.link {
            // An id from the message's sequence number, stable across
            // updates (while earlier messages are dropped), so /chat.js
            // can give the focus back to it.
            lines.push_str(&format!(
                " <a id=\"signin-{seq}\" class=\"signin\" role=\"button\" href=\"{}\" target=\"_blank\" rel=\"noopener noreferrer\">Sign in</a>",
                html_escape::encode_double_quoted_attribute(link)
            ));
        }
        lines.push_str("</p>\n");
    }
    if c.closed {
        lines.push_str("<p><i>This conversation is closed.</i></p>\n");
    }
    lines
}

/// What the page keeps up to date: the transcript and, beside it, the
/// conversation's timeline ([`super::timeline`]).
fn live(c: &super::conversations::Conversation) -> String {
    format!(
        "<div id=\"transcript\" aria-live=\"polite\">{}</div>\
         <section id=\"timeline\"><h2>Timeline</h2>{}</section>",
        transcript(c),
        super::timeline::render(c.events.events().numbered(), c.events.dropped())
    )
}

/// The page's policy: its own script, and its own stylesheet by hash;
/// nothing else inline.
static POLICY: Policy = Policy::new(
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src {style}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    STYLE,
);

const STYLE: &str = "body{font-family:sans-serif;max-width:60em;margin:2em auto}\
.timeline{border-collapse:collapse;font-size:.85em;margin:1em 0}.timeline td,.timeline th{padding:.1em .4em;text-align:left;vertical-align:top}\
.timeline .line{color:#888}.timeline summary{cursor:pointer}.timeline summary:focus{outline:3px solid #f90}\
.timeline pre{font-size:.9em;background:#f6f6f6;white-space:pre-wrap;overflow-wrap:anywhere}\
.timeline .facts{font-weight:bold;margin:.5em 0 .2em}.timeline dl{display:grid;grid-template-columns:max-content auto;gap:.1em .8em;margin:0}\
.timeline dt{color:#555}.timeline dd{margin:0;overflow-wrap:anywhere}\
.signin{display:inline-block;padding:.2em .8em;border:1px solid #1a5;border-radius:4px;background:#1a5;color:#fff;text-decoration:none}\
.signin:focus{outline:3px solid #f90}label{margin-right:.5em}";

/// `GET /chat/{id}`: the transcript and a message form.
pub async fn show(State(state): State<PlatformState>, Path(id): Path<ConversationId>) -> Response {
    let Some(html) = state.conversations.read(&id, |c| {
        let id = html_escape::encode_double_quoted_attribute(&c.id).into_owned();
        let clock = if state.options.addr.ip().is_loopback() {
            format!(
                "<form method=\"post\" action=\"/chat/{id}/clock\"><button>+5 minutes</button> \
                 <span>on the shared clock (watch a token expire)</span></form>"
            )
        } else {
            String::new()
        };
        let form = if c.closed {
            String::new()
        } else {
            format!(
                "<form method=\"post\" action=\"/chat/{id}\"><label for=\"text\">Message</label>\
                 <input id=\"text\" name=\"text\" autofocus placeholder=\"my orders\" size=\"40\" \
                 maxlength=\"{MAX_MESSAGE_CHARS}\"> \
                 <button>Send</button></form>{clock}\
                 <noscript><p><a href=\"/chat/{id}\">Reload</a> after signing in to see the answer.</p></noscript>"
            )
        };
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Chat</title>\
             <style>{STYLE}</style><script src=\"/chat.js\" defer></script></head>\
             <body data-updates=\"/chat/{id}/updates\"><h1>Chat with {bot}</h1>\
             <div id=\"live\">{live}</div>{form}</body></html>",
            bot = html_escape::encode_text(&c.bot),
            live = live(c),
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
            (header::CONTENT_SECURITY_POLICY, POLICY.get()),
        ],
        html,
    )
        .into_response()
}

/// `GET /chat.js`: follow the transcript, replace it when it changes.
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("chat.js"),
    )
        .into_response()
}

/// `GET /chat/{id}/updates`: Server-Sent Events, one `transcript` event
/// (the transcript's HTML) now and at every change.
pub async fn updates(
    State(state): State<PlatformState>,
    Path(id): Path<ConversationId>,
) -> Response {
    // Subscribed before the first rendering, so no change falls between.
    let changes = state.conversations.subscribe();
    let Some(first) = state.conversations.read(&id, live) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let stream = futures::stream::unfold(
        (Some(first), changes, state, id),
        |(first, mut changes, state, id)| async move {
            if let Some(html) = first {
                let event = Event::default().event("transcript").data(html);
                return Some((Ok::<_, Infallible>(event), (None, changes, state, id)));
            }
            loop {
                match changes.recv().await {
                    Ok(changed) if changed != id => continue,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        // Each event carries the whole live part: changes
                        // already queued (a callback records several
                        // events at once) are in this rendering too.
                        while let Ok(_) | Err(TryRecvError::Lagged(_)) = changes.try_recv() {}
                        let html = state.conversations.read(&id, live)?;
                        let event = Event::default().event("transcript").data(html);
                        return Some((Ok(event), (None, changes, state, id)));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// `POST /chat/{id}/clock`: the shared clock five minutes on (the page's
/// control, to watch a token expire), then back to the page. Only on a
/// platform bound to loopback: it moves every party's clock.
pub async fn clock(State(state): State<PlatformState>, Path(id): Path<ConversationId>) -> Response {
    if !state.options.addr.ip().is_loopback() {
        return page(
            StatusCode::FORBIDDEN,
            "No clock control here",
            "The clock control is offered on a platform bound to loopback only.",
        );
    }
    state.clock.advance(Duration::from_secs(300));
    let id = super::integrations::template::encode_component(id.as_str());
    Redirect::to(&format!("/chat/{id}")).into_response()
}

#[derive(Deserialize)]
pub struct SayForm {
    text: String,
}

/// `POST /chat/{id}`: a consumer message from the form.
pub async fn say(
    State(state): State<PlatformState>,
    Path(id): Path<ConversationId>,
    Form(form): Form<SayForm>,
) -> Response {
    if let Some(conv) = state.conversations.info(&id).filter(|c| !c.closed) {
        let text = form.text.trim();
        // The form's maxlength keeps a browser within the limit; anything
        // else refused is dropped, and the page shows the transcript as is.
        if refusal(text).is_none() {
            handle_message(&state, &conv, text).await;
        }
    }
    let id = super::integrations::template::encode_component(id.as_str());
    Redirect::to(&format!("/chat/{id}")).into_response()
}
