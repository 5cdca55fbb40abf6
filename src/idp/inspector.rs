//! The IdP inspector, for people: `GET /admin/inspector` shows the shared
//! clock, how full the store is, the codes, access tokens and refresh
//! tokens held (the most recent, by id, never value) with their state and
//! how often each was presented, and a switchboard:
//! the clock five minutes on, the quirk modes, the next ID token's defect
//! and a fault for the token endpoint. Plain HTML forms, no script; behind
//! the admin guard like the rest of `/admin`.

use std::time::Duration;

use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::faults::{Endpoint, Fault, IdTokenDefect};
use super::quirks::{Quirk, Quirks};
use super::state::IdpState;
use crate::clock::Instant;
use crate::server::page_policy::Policy;

const STYLE: &str = "body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}\
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}fieldset{margin:1em 0}";

/// Nothing but the page's own stylesheet, and its forms posting here.
static POLICY: Policy = Policy::new(
    "default-src 'none'; style-src {style}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    STYLE,
);

fn e(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

/// A time on the shared clock, relative to now.
fn when(at: Instant, now: Instant) -> String {
    match at.secs_since(now) {
        d if d > 0 => format!("in {d} s"),
        0 => "now".into(),
        d => format!("{} s ago", -d),
    }
}

fn json_name(value: impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `GET /admin/inspector`.
pub async fn page(State(state): State<IdpState>) -> Response {
    let now = state.now();
    let grants = state.grants();
    let mut rows = String::new();
    for c in &grants.codes {
        rows.push_str(&format!(
            "<tr><td>code</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e(&c.id[..c.id.len().min(10)]),
            e(c.client_id.as_str()),
            e(&c.sub),
            e(&json_name(c.state)),
            c.presented,
            e(&when(c.expires_at, now)),
        ));
    }
    for a in &grants.access_tokens {
        rows.push_str(&format!(
            "<tr><td>access token ({})</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e(&json_name(a.grant)),
            e(&a.id[..a.id.len().min(10)]),
            e(a.client_id.as_str()),
            e(a.sub.as_deref().unwrap_or("(the client)")),
            e(&json_name(a.state)),
            a.presented,
            e(&when(a.expires_at, now)),
        ));
    }
    for r in &grants.refresh_tokens {
        rows.push_str(&format!(
            "<tr><td>refresh token</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e(&r.id[..r.id.len().min(10)]),
            e(r.client_id.as_str()),
            e(&r.sub),
            e(&json_name(r.state)),
            r.presented,
            e(&when(r.expires_at, now)),
        ));
    }
    if rows.is_empty() {
        rows.push_str("<tr><td colspan=\"7\">Nothing issued yet.</td></tr>");
    }
    let active = state.quirks();
    let quirks: String = Quirk::ALL
        .iter()
        .map(|q| {
            let name = q.name();
            format!(
                "<label><input type=\"checkbox\" name=\"quirk\" value=\"{n}\"{checked}> {n}</label><br>",
                n = e(&name),
                checked = if active.contains(q) { " checked" } else { "" }
            )
        })
        .collect();
    let defects: String = [
        "wrong_iss",
        "wrong_aud",
        "wrong_nonce",
        "expired",
        "bad_signature",
        "future_iat",
    ]
    .iter()
    .map(|d| format!("<option>{d}</option>"))
    .collect();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>IdP inspector</title>\
         <style>{STYLE}</style></head><body>\
         <h1>IdP inspector</h1><p>{issuer}. The shared clock reads {now} ({offset:+} s from real time).</p>\
         <form method=\"post\" action=\"/admin/inspector/clock\"><button>+5 minutes</button></form>\
         <h2>Issued</h2><p id=\"store\">{store}</p><table><thead><tr><th>what</th><th>id</th><th>client</th><th>subject</th><th>state</th><th>presented</th><th>expires</th></tr></thead>\
         <tbody>{rows}</tbody></table>\
         <h2>Switchboard</h2>\
         <form method=\"post\" action=\"/admin/inspector/quirks\"><fieldset><legend>Quirk modes</legend>{quirks}\
         <button>Set quirk modes</button></fieldset></form>\
         <form method=\"post\" action=\"/admin/inspector/defect\"><fieldset><legend>The next ID token</legend>\
         <label for=\"defect\">Defect</label> <select id=\"defect\" name=\"defect\">{defects}</select> \
         <button>Make the next ID token defective</button></fieldset></form>\
         <form method=\"post\" action=\"/admin/inspector/fault\"><fieldset><legend>The token endpoint</legend>\
         <label for=\"status\">Next answer's status</label> <input id=\"status\" name=\"status\" type=\"number\" min=\"400\" max=\"599\" value=\"503\"> \
         <button>Fail the next token request</button></fieldset></form>\
         <form method=\"post\" action=\"/admin/inspector/reset\"><button>Reset to the fixtures</button></form>\
         </body></html>",
        issuer = e(&state.issuer),
        offset = state.clock.offset(),
        store = e(&store_line(&grants.store)),
    );
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

/// How full the store is, in a sentence.
fn store_line(s: &super::admin::StoreView) -> String {
    format!(
        "Holding {} codes and tokens of at most {}, listing the latest {} of each kind. \
         Since start or reset: {} access tokens issued, {} expired records forgotten, \
         {} live JWT records forgotten at the ceiling, {} requests refused at it.",
        s.records,
        s.max_records,
        s.inspect_limit,
        s.access_tokens_issued,
        s.expired_forgotten,
        s.live_evicted,
        s.refused
    )
}

fn back() -> Response {
    Redirect::to("/admin/inspector").into_response()
}

/// `POST /admin/inspector/clock`: five minutes on.
pub async fn clock(State(state): State<IdpState>) -> Response {
    state.clock.advance(Duration::from_secs(300));
    back()
}

/// `POST /admin/inspector/quirks`: exactly the checked modes.
pub async fn quirks(State(state): State<IdpState>, body: String) -> Response {
    let chosen: Result<Quirks, String> = url::form_urlencoded::parse(body.as_bytes())
        .filter(|(k, _)| k == "quirk")
        .map(|(_, v)| v.parse::<Quirk>())
        .collect();
    match chosen {
        Ok(q) => {
            state.set_quirks(q);
            back()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct DefectForm {
    defect: String,
}

/// `POST /admin/inspector/defect`: the next ID token is defective.
pub async fn defect(State(state): State<IdpState>, Form(form): Form<DefectForm>) -> Response {
    match form.defect.parse::<IdTokenDefect>() {
        Ok(d) => {
            state.faults().push_defect(d, 1);
            back()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct FaultForm {
    status: u16,
}

/// `POST /admin/inspector/fault`: the next token request fails.
pub async fn fault(State(state): State<IdpState>, Form(form): Form<FaultForm>) -> Response {
    if !(400..=599).contains(&form.status) {
        return (StatusCode::BAD_REQUEST, "status must be 400 to 599").into_response();
    }
    state.faults().push(
        Endpoint::Token,
        Fault::Status {
            status: form.status,
            body: "{\"error\":\"temporarily_unavailable\"}".into(),
            content_type: "application/json".into(),
        },
        1,
    );
    back()
}

/// `POST /admin/inspector/reset`: back to the fixtures.
pub async fn reset(State(state): State<IdpState>) -> Response {
    state.reset();
    back()
}
