//! A conversation's timeline, for people: every event of its log drawn as
//! a row of a sequence diagram across the consumer, the platform, the IdP
//! and the brand API, with its time on the shared clock. Opening a row
//! shows the step's details as a list of names and values (the
//! authorization request's parameters, the token request and what it
//! returned, the ID token's claims, the API call, the token's lifetime),
//! then the event as recorded. Events carry names and numbers, never a
//! token, code, secret or verifier ([`super::events`]); everything is
//! HTML-escaped here.
//!
//! Each row, its `<details>` and its `<summary>` have ids from the event's
//! sequence number in the log (`step-3`, `step-3-summary`), which stays
//! the same while earlier events are dropped, so an id names the same step
//! in every rendering, and `/chat.js` reopens what was open and puts the
//! focus back after each update. When the log has dropped earlier events,
//! a line above the table says how many.

use serde_json::Value;

use super::events::{Event, EventKind};
use super::oauth::outbound::OutboundRequest;
use crate::clock::Instant;

/// The lanes, left to right.
const PARTIES: [&str; 4] = ["Consumer", "Platform", "IdP", "Brand API"];

/// Fields shown in a step's details only, not in its one-line label.
const DETAILS_ONLY: [&str; 3] = ["method", "url", "lifetime_secs"];

/// From which party to which an event goes (equal: within one).
fn lanes(kind: &EventKind) -> (usize, usize) {
    match kind {
        EventKind::ConversationOpened
        | EventKind::ConsumerMessage
        | EventKind::CallbackReceived => (0, 1),
        EventKind::ChallengeSent { .. }
        | EventKind::Rechallenge { .. }
        | EventKind::AnswerPosted => (1, 0),
        EventKind::ExchangeDone { .. } | EventKind::ExchangeFailed { .. } => (1, 2),
        EventKind::TokenResponseDeparture { .. } | EventKind::AuthorizationError { .. } => (2, 1),
        EventKind::IntegrationCalled { .. } | EventKind::ApiError { .. } => (1, 3),
        _ => (1, 1),
    }
}

/// A JSON value in words: a string as it is, anything else as JSON.
fn words(v: &Value) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_string(),
    }
}

/// The event's name and its short fields (strings, numbers, flags), in
/// words; structured fields are for the details.
fn label(kind: &EventKind) -> String {
    let value = serde_json::to_value(kind).unwrap_or_default();
    let name = value["kind"].as_str().unwrap_or_default().replace('_', " ");
    let detail: Vec<String> = value
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| {
            k.as_str() != "kind"
                && !DETAILS_ONLY.contains(&k.as_str())
                && !v.is_object()
                && !v.is_array()
        })
        .map(|(k, v)| format!("{k} {}", words(v)))
        .collect();
    if detail.is_empty() {
        name
    } else {
        format!("{name} ({})", detail.join(", "))
    }
}

/// One titled list of names and values.
type Facts = (&'static str, Vec<(String, String)>);

fn row(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_string(), value.into())
}

/// The token request as the platform logged it.
fn token_request(r: &OutboundRequest) -> Vec<(String, String)> {
    let mut rows = vec![
        row("endpoint", &r.endpoint),
        row("grant_type", r.grant_type.unwrap_or("(none)")),
        row("client_auth", r.client_auth),
        row(
            "HTTP status",
            r.status.map_or("(no answer)".into(), |s| s.to_string()),
        ),
        row("outcome", &r.outcome),
        row("duration_ms", r.duration_ms.to_string()),
        row(
            "tokens returned",
            if r.returned.is_empty() {
                "(none)".to_string()
            } else {
                r.returned.join(", ")
            },
        ),
        row(
            "expires_in",
            r.expires_in
                .map_or("(not given)".into(), |s| format!("{s} s")),
        ),
    ];
    if !r.departures.is_empty() {
        rows.push(row("tolerated departures", r.departures.join(", ")));
    }
    rows
}

/// A time on the shared clock, as a date (UTC) and as seconds after `start`.
fn when(at: Instant, start: Instant) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(at.unix_secs())
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| at.to_string());
    format!("{date} (+{} s)", at.secs_since(start))
}

/// What opening a step shows besides the recorded event.
fn details(ev: &Event, start: Instant) -> Option<Facts> {
    Some(match &ev.kind {
        EventKind::ChallengeSent {
            credential,
            authorization_request: r,
        } => {
            let mut rows = vec![
                row("credential", credential),
                row("authorization endpoint", &r.endpoint),
            ];
            rows.extend(r.parameters.iter().map(|(k, v)| row(k, v)));
            ("Authorization request", rows)
        }
        EventKind::ExchangeDone { request: Some(r) } => ("Token request", token_request(r)),
        EventKind::ExchangeFailed { reason, request } => {
            let mut rows = vec![row("reason", reason)];
            rows.extend(request.iter().flat_map(token_request));
            ("Token request", rows)
        }
        EventKind::IdTokenValidated {
            claims: Some(Value::Object(claims)),
        } => (
            "ID token claims",
            claims.iter().map(|(k, v)| row(k, words(v))).collect(),
        ),
        EventKind::TokenStored {
            expires_at,
            lifetime_secs,
        } => (
            "Access token stored",
            vec![
                row(
                    "lifetime",
                    lifetime_secs.map_or("(not given: no expires_in)".into(), |s| format!("{s} s")),
                ),
                row(
                    "expires at",
                    expires_at.map_or("(unknown)".into(), |t| when(t, start)),
                ),
                row("kept in", "this conversation only"),
            ],
        ),
        EventKind::RefreshTokenDropped => (
            "Refresh refused",
            vec![row(
                "refresh token",
                "returned by the token endpoint, dropped: never stored, never presented (unauthenticated conversation)",
            )],
        ),
        EventKind::IntegrationCalled {
            integration,
            status,
            method,
            url,
        } => (
            "API call",
            vec![
                row("integration", integration),
                row("request", format!("{method} {url}")),
                row("HTTP status", status.to_string()),
            ],
        ),
        _ => return None,
    })
}

/// A titled definition list, escaped.
fn facts_html((title, rows): &Facts) -> String {
    let e = |t: &str| html_escape::encode_text(t).into_owned();
    let mut out = format!("<p class=\"facts\">{}</p><dl>", e(title));
    for (name, value) in rows {
        out.push_str(&format!("<dt>{}</dt><dd>{}</dd>", e(name), e(value)));
    }
    out.push_str("</dl>");
    out
}

/// The timeline of `events` (each with its sequence number) as an HTML
/// table, after a line saying how many earlier events were `dropped`, if
/// any; times are seconds after the first event shown.
pub fn render<'a>(events: impl IntoIterator<Item = (u64, &'a Event)>, dropped: u64) -> String {
    let e = |t: &str| html_escape::encode_text(t).into_owned();
    let mut events = events.into_iter().peekable();
    let start = events.peek().map_or(Instant::UNIX_EPOCH, |(_, ev)| ev.at);
    let mut out = String::new();
    if dropped > 0 {
        out.push_str(&format!(
            "<p class=\"dropped\"><i>{} no longer kept.</i></p>",
            super::capped::earlier(dropped, "event")
        ));
    }
    out.push_str("<table class=\"timeline\"><thead><tr><th>time</th>");
    for p in PARTIES {
        out.push_str(&format!("<th>{p}</th>"));
    }
    out.push_str("</tr></thead><tbody>");
    for (i, ev) in events {
        let (from, to) = lanes(&ev.kind);
        let (lo, hi) = (from.min(to), from.max(to));
        out.push_str(&format!(
            "<tr id=\"row-{i}\"><td>+{} s</td>",
            ev.at.secs_since(start)
        ));
        for lane in 0..PARTIES.len() {
            let cell = if lane == to {
                let arrow = match to.cmp(&from) {
                    std::cmp::Ordering::Greater => "&#9654; ",
                    std::cmp::Ordering::Less => "&#9664; ",
                    std::cmp::Ordering::Equal => "&#9679; ",
                };
                let facts = details(ev, start)
                    .map(|f| facts_html(&f))
                    .unwrap_or_default();
                let recorded = serde_json::to_string_pretty(ev).unwrap_or_default();
                format!(
                    "<td class=\"step\"><details id=\"step-{i}\"><summary id=\"step-{i}-summary\">{arrow}{}</summary>\
                     {facts}<p class=\"facts\">As recorded</p><pre>{}</pre></details></td>",
                    e(&label(&ev.kind)),
                    e(&recorded)
                )
            } else if lane == from || (lane > lo && lane < hi) {
                "<td class=\"line\">&#9472;&#9472;</td>".to_string()
            } else {
                "<td></td>".to_string()
            };
            out.push_str(&cell);
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::platform::events::AuthorizationRequest;
    use crate::platform::oauth::id_token;
    use crate::platform::oauth::outbound::OutboundLog;
    use crate::platform::oauth::token_request::{self, Grant, Recorder};
    use crate::secret::Secret;

    fn at(at: i64, kind: EventKind) -> Event {
        Event {
            at: Instant::from_unix_secs(at),
            kind,
        }
    }

    /// A whole log, nothing dropped.
    fn render_all(events: &[Event]) -> String {
        render((0..).zip(events), 0)
    }

    #[test]
    fn each_event_is_a_row_in_its_lanes() {
        let events = vec![
            at(100, EventKind::ConsumerMessage),
            at(101, EventKind::ExchangeDone { request: None }),
            at(
                102,
                EventKind::IntegrationCalled {
                    integration: "orders".into(),
                    status: 200,
                    method: "GET".into(),
                    url: "http://api.example/orders".into(),
                },
            ),
        ];
        let html = render_all(&events);
        assert_eq!(html.matches("<tr id=\"row-").count(), 3, "{html}");
        assert!(
            html.contains("+2 s")
                && html.contains("integration called (integration orders, status 200)"),
            "{html}"
        );
        // Stable ids, for the script to keep a step open across updates.
        assert!(
            html.contains("<details id=\"step-2\"><summary id=\"step-2-summary\">"),
            "{html}"
        );
        assert!(
            html.contains("<dt>request</dt><dd>GET http://api.example/orders</dd>"),
            "{html}"
        );
        assert_eq!(lanes(&EventKind::ExchangeDone { request: None }), (1, 2));
    }

    /// The link as the platform builds it: the parameters are shown, the
    /// values binding it to the conversation are not, in the list nor in
    /// the recorded JSON.
    #[test]
    fn the_authorization_request_shows_no_state_nonce_or_challenge() {
        let (state, nonce, challenge) = (
            "STATEvalue0123456789abcdefghijklmnopqrstuvw",
            "NONCEvalue0123456789ab",
            "CHALLENGEvalue0123456789abcdefghijklmnopqrs",
        );
        let link = url::Url::parse(&format!(
            "http://127.0.0.1:1/authorize?client_id=bot&response_type=code&scope=openid+orders%3Aread\
             &state={state}&code_challenge={challenge}&code_challenge_method=S256&nonce={nonce}"
        ))
        .unwrap();
        let html = render_all(&[at(
            1,
            EventKind::ChallengeSent {
                credential: "brand-login".into(),
                authorization_request: AuthorizationRequest::of(&link),
            },
        )]);
        for secret in [state, nonce, challenge] {
            assert!(!html.contains(secret), "{secret} shown: {html}");
        }
        for shown in [
            "<dt>authorization endpoint</dt><dd>http://127.0.0.1:1/authorize</dd>",
            "<dt>client_id</dt><dd>bot</dd>",
            "<dt>scope</dt><dd>openid orders:read</dd>",
            "<dt>code_challenge_method</dt><dd>S256</dd>",
            "<dt>state</dt><dd>(set, 43 characters)</dd>",
            "<dt>code_challenge</dt><dd>(set, 43 characters)</dd>",
            "<dt>nonce</dt><dd>(set, 22 characters)</dd>",
        ] {
            assert!(html.contains(shown), "no {shown}: {html}");
        }
    }

    /// A real token request against a token endpoint that answers every
    /// token: the exchange's step, its ID token's claims and the stored
    /// token show names, numbers and claims, never a token, the code, the
    /// verifier, the client secret, the nonce or the ID token's hashes.
    #[tokio::test]
    async fn no_token_code_verifier_or_hash_in_the_exchange_steps() {
        use base64::Engine as _;
        use wiremock::matchers::method;
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let id_token = format!(
            "{}.{}.SIGNATUREvalue",
            b64(serde_json::json!({"alg": "RS256", "kid": "k1"})),
            b64(serde_json::json!({
                "iss": "http://127.0.0.1:1", "sub": "alice", "aud": "bot",
                "exp": 2000, "iat": 1000, "nonce": "NONCEvalue0123",
                "at_hash": "ATHASHvalue0123", "c_hash": "CHASHvalue0123"
            })),
        );
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": "ACCESSvalue0123", "token_type": "Bearer", "expires_in": 300,
                "refresh_token": "REFRESHvalue0123", "id_token": id_token,
            })))
            .mount(&server)
            .await;
        let (log, clock) = (OutboundLog::default(), Clock::new());
        let (secret, verifier) = (
            Secret::new("SECRETvalue0123"),
            crate::secret::PkceVerifier::new("VERIFIERvalue0123"),
        );
        let client = token_request::Client {
            id: &crate::wire::ClientId::new("bot"),
            secret: &secret,
            method: Default::default(),
        };
        let (tokens, request) = token_request::request_logged(
            &reqwest::Client::new(),
            &format!("{}/token", server.uri()),
            Some(&client),
            &Grant::AuthorizationCode {
                code: "CODEvalue0123",
                redirect_uri: "http://127.0.0.1:2/cb",
                verifier: Some(&verifier),
            },
            std::time::Duration::from_secs(5),
            &Recorder {
                log: &log,
                clock: &clock,
            },
        )
        .await;
        let tokens = tokens.unwrap();
        let claims = id_token::shown_claims(tokens.id_token.as_ref().unwrap());
        let html = render_all(&[
            at(
                1000,
                EventKind::ExchangeDone {
                    request: Some(request),
                },
            ),
            at(1000, EventKind::IdTokenValidated { claims }),
            at(1000, EventKind::RefreshTokenDropped),
            at(
                1000,
                EventKind::TokenStored {
                    expires_at: Some(Instant::from_unix_secs(1300)),
                    lifetime_secs: tokens.expires_in,
                },
            ),
        ]);
        for value in [
            "ACCESSvalue0123",
            "REFRESHvalue0123",
            "SIGNATUREvalue",
            "CODEvalue0123",
            "VERIFIERvalue0123",
            "SECRETvalue0123",
            "NONCEvalue0123",
            "ATHASHvalue0123",
            "CHASHvalue0123",
        ] {
            assert!(!html.contains(value), "{value} shown: {html}");
        }
        for shown in [
            "<dt>grant_type</dt><dd>authorization_code</dd>",
            "<dt>client_auth</dt><dd>client_secret_basic</dd>",
            "<dt>HTTP status</dt><dd>200</dd>",
            "<dt>tokens returned</dt><dd>access_token, refresh_token, id_token</dd>",
            "<dt>expires_in</dt><dd>300 s</dd>",
            "<dt>sub</dt><dd>alice</dd>",
            "<dt>iss</dt><dd>http://127.0.0.1:1</dd>",
            "<dt>lifetime</dt><dd>300 s</dd>",
            "1970-01-01T00:21:40Z (+300 s)",
            "Refresh refused",
        ] {
            assert!(html.contains(shown), "no {shown}: {html}");
        }
        assert!(html.contains(&format!("<dt>endpoint</dt><dd>{}/token</dd>", server.uri())));
    }

    /// Rows are numbered by the events' sequence numbers, and a line says
    /// how many earlier ones the log no longer keeps.
    #[test]
    fn ids_stay_put_when_earlier_events_are_dropped() {
        let events = [
            at(100, EventKind::ConsumerMessage),
            at(105, EventKind::NoDialog),
        ];
        let html = render((7..).zip(&events), 7);
        assert!(
            html.starts_with(
                "<p class=\"dropped\"><i>7 earlier events are no longer kept.</i></p>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<tr id=\"row-7\">") && html.contains("<details id=\"step-8\">"),
            "{html}"
        );
        assert!(!html.contains("row-0") && html.contains("+5 s"), "{html}");
        assert!(!render_all(&events).contains("no longer kept"));
    }

    #[test]
    fn values_are_escaped() {
        let html = render_all(&[at(
            1,
            EventKind::ExchangeFailed {
                reason: "<script>alert(1)</script>".into(),
                request: None,
            },
        )]);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }
}
