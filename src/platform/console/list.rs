//! `GET /console`, the organisations, and `GET /console/orgs/{org}`, an
//! organisation's credentials: each with its type, its state (authorised
//! or not, what a person should know) and its menu (Edit,
//! Authorize/Reauthorize for the OAuth 2.0 kinds, Delete).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::layout::{self, Place, attr, segment, text};
use super::session::admitted_after;
use super::types;
use crate::platform::PlatformState;
use crate::platform::credentials::{Credential, Kind, oauth_tokens};

/// `GET /console`.
pub async fn organisations(State(state): State<PlatformState>) -> Response {
    let mut items = String::new();
    for id in state.org_ids() {
        items.push_str(&format!(
            "<li><a href=\"/console/orgs/{}\">{}</a></li>",
            attr(&segment(&id)),
            text(&id)
        ));
    }
    if items.is_empty() {
        items.push_str("<li>This platform has no organisation.</li>");
    }
    layout::page(
        StatusCode::OK,
        "Organisations",
        Place::Organisations,
        &format!("<p>Choose the organisation whose credentials to see.</p><ul>{items}</ul>"),
    )
}

/// What just happened, said above the list.
#[derive(Deserialize)]
pub struct Done {
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    deleted: Option<String>,
    /// `wrong`: the admin token just given was not the organisation's.
    #[serde(default)]
    token: Option<String>,
}

/// `GET /console/orgs/{org}`.
pub async fn credentials(
    State(state): State<PlatformState>,
    Path(org): Path<String>,
    Query(done): Query<Done>,
    headers: HeaderMap,
) -> Response {
    let wrong_token = done.token.as_deref() == Some("wrong");
    let org = match admitted_after(&state, &org, &headers, wrong_token) {
        Ok(o) => o,
        Err(page) => return page,
    };
    let id = org.id.as_str();
    let base = format!("/console/orgs/{}", segment(id));
    let mut body = String::new();
    if let Some(name) = done.saved {
        body.push_str(&format!(
            "<p class=\"notice\" role=\"status\">Credential {} was saved.</p>",
            text(&name)
        ));
    }
    if let Some(name) = done.deleted {
        body.push_str(&format!(
            "<p class=\"notice\" role=\"status\">Credential {} was deleted.</p>",
            text(&name)
        ));
    }
    body.push_str(&format!(
        "<div class=\"bar\"><h2>Credentials</h2><a class=\"button\" href=\"{}/new\">Add credential</a></div>",
        attr(&base)
    ));
    let list = state.vault.list(&org.id);
    if list.is_empty() {
        body.push_str("<p>No credentials yet. Add one to let the bots call the brand's API.</p>");
    } else {
        body.push_str(
            "<table class=\"credentials\"><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Type</th>\
             <th scope=\"col\">State</th><th scope=\"col\"><span class=\"muted\">Actions</span></th></tr></thead><tbody>",
        );
        for c in &list {
            body.push_str(&row(&state, &org.id, &base, c));
        }
        body.push_str("</tbody></table>");
    }
    layout::page(
        StatusCode::OK,
        &format!("Organisation {id}"),
        Place::Org(id),
        &body,
    )
}

fn row(
    state: &PlatformState,
    org: &crate::platform::org::OrgId,
    base: &str,
    c: &Credential,
) -> String {
    let type_name = c.kind.type_name();
    let label = types::find(type_name).map_or(type_name, |t| t.label);
    let here = format!("{base}/credentials/{}", segment(&c.name));
    let now = state.clock.now();
    let (status, authorize) = match &c.kind {
        Kind::OAuth2AuthorizationCode(_) | Kind::OAuth2ClientCredentials(_) => {
            let token = state.vault.token(org, &c.name);
            let status = match &token {
                None => "Not authorized yet".to_string(),
                Some(t) if oauth_tokens::fresh(t, now) => match t.expires_at {
                    Some(at) => format!(
                        "Authorized; the token expires in {}",
                        minutes(at.secs_since(now))
                    ),
                    None => "Authorized".to_string(),
                },
                Some(t) if t.refresh_token.is_some() => {
                    "Authorized; the token is refreshed at its next use".to_string()
                }
                Some(_) => "The token expired and there is no refresh token: reauthorize".into(),
            };
            let verb = if token.is_some() {
                "Reauthorize"
            } else {
                "Authorize"
            };
            let item = if matches!(c.kind, Kind::OAuth2AuthorizationCode(_)) {
                format!("<li><a href=\"{}/authorize\">{verb}</a></li>", attr(&here))
            } else {
                format!(
                    "<li><form method=\"post\" action=\"{}/authorize\"><button>{verb}</button></form></li>",
                    attr(&here)
                )
            };
            (status, item)
        }
        Kind::MutualAuthentication(m) => (
            m.warnings
                .iter()
                .map(|w| w.message.clone())
                .collect::<Vec<_>>()
                .join(" "),
            String::new(),
        ),
        _ => (String::new(), String::new()),
    };
    format!(
        "<tr><th scope=\"row\">{name}</th><td>{label}</td><td>{status}</td>\
         <td><details class=\"menu\"><summary aria-label=\"Actions for {name_attr}\">&#8943;</summary><ul>\
         <li><a href=\"{here_attr}/edit\">Edit</a></li>{authorize}\
         <li><a href=\"{here_attr}/delete\">Delete</a></li></ul></details></td></tr>",
        name = text(&c.name),
        name_attr = attr(&c.name),
        label = text(label),
        status = text(&status),
        here_attr = attr(&here),
    )
}

/// "4 minutes", "2 hours" (rounded down), "less than a minute".
fn minutes(secs: i64) -> String {
    match secs {
        ..60 => "less than a minute".into(),
        60..120 => "1 minute".into(),
        120..7200 => format!("{} minutes", secs / 60),
        _ => format!("{} hours", secs / 3600),
    }
}
