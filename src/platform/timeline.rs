//! A conversation's timeline, for people: every event of its log drawn as
//! a row of a sequence diagram across the consumer, the platform, the IdP
//! and the brand API, with its time on the shared clock; opening a row
//! shows the event as recorded (events carry names and numbers, never a
//! token, code, secret or verifier).

use super::events::{Event, EventKind};

/// The lanes, left to right.
const PARTIES: [&str; 4] = ["Consumer", "Platform", "IdP", "Brand API"];

/// From which party to which an event goes (equal: within one).
fn lanes(kind: &EventKind) -> (usize, usize) {
    match kind {
        EventKind::ConversationOpened
        | EventKind::ConsumerMessage
        | EventKind::CallbackReceived => (0, 1),
        EventKind::ChallengeSent { .. }
        | EventKind::Rechallenge { .. }
        | EventKind::AnswerPosted => (1, 0),
        EventKind::ExchangeDone | EventKind::ExchangeFailed { .. } => (1, 2),
        EventKind::TokenResponseDeparture { .. } | EventKind::AuthorizationError { .. } => (2, 1),
        EventKind::IntegrationCalled { .. } | EventKind::ApiError { .. } => (1, 3),
        _ => (1, 1),
    }
}

/// The event's name and its main fields, in words.
fn label(kind: &EventKind) -> String {
    let value = serde_json::to_value(kind).unwrap_or_default();
    let name = value["kind"].as_str().unwrap_or_default().replace('_', " ");
    let detail: Vec<String> = value
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "kind")
        .map(|(k, v)| match v.as_str() {
            Some(s) => format!("{k} {s}"),
            None => format!("{k} {v}"),
        })
        .collect();
    if detail.is_empty() {
        name
    } else {
        format!("{name} ({})", detail.join(", "))
    }
}

/// The timeline of `events` as an HTML table; times are seconds after the
/// first event.
pub fn render(events: &[Event]) -> String {
    let e = |t: &str| html_escape::encode_text(t).into_owned();
    let start = events.first().map_or(0, |ev| ev.at);
    let mut out = String::from("<table class=\"timeline\"><thead><tr><th>time</th>");
    for p in PARTIES {
        out.push_str(&format!("<th>{p}</th>"));
    }
    out.push_str("</tr></thead><tbody>");
    for ev in events {
        let (from, to) = lanes(&ev.kind);
        let (lo, hi) = (from.min(to), from.max(to));
        out.push_str(&format!("<tr><td>+{} s</td>", ev.at - start));
        for lane in 0..PARTIES.len() {
            let cell = if lane == to {
                let arrow = match to.cmp(&from) {
                    std::cmp::Ordering::Greater => "&#9654; ",
                    std::cmp::Ordering::Less => "&#9664; ",
                    std::cmp::Ordering::Equal => "&#9679; ",
                };
                let recorded = serde_json::to_string_pretty(ev).unwrap_or_default();
                format!(
                    "<td class=\"step\"><details><summary>{arrow}{}</summary><pre>{}</pre></details></td>",
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

    #[test]
    fn each_event_is_a_row_in_its_lanes() {
        let events = vec![
            Event {
                at: 100,
                kind: EventKind::ConsumerMessage,
            },
            Event {
                at: 101,
                kind: EventKind::ExchangeDone,
            },
            Event {
                at: 102,
                kind: EventKind::IntegrationCalled {
                    integration: "orders".into(),
                    status: 200,
                },
            },
        ];
        let html = render(&events);
        assert_eq!(html.matches("<tr><td>").count(), 3, "{html}");
        assert!(
            html.contains("+2 s")
                && html.contains("integration called (integration orders, status 200)"),
            "{html}"
        );
        assert_eq!(lanes(&EventKind::ExchangeDone), (1, 2));
    }
}
