//! Delete, from a credential's menu: `GET
//! /console/orgs/{org}/credentials/{name}/delete` asks for confirmation,
//! naming the integrations and NLU domains that use the credential (they
//! stop working until given another); `POST` deletes it.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::layout::{self, Place, attr, segment, text};
use super::session::{admitted, cross_site, same_site};
use crate::platform::PlatformState;
use crate::platform::credentials::{SaveError, edit};

/// `GET .../credentials/{name}/delete`.
pub async fn confirm(
    State(state): State<PlatformState>,
    Path((org, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let org = match admitted(&state, &org, &headers) {
        Ok(o) => o,
        Err(page) => return page,
    };
    let base = format!("/console/orgs/{}", segment(org.id.as_str()));
    let place = Place::InOrg(org.id.as_str(), &name);
    if state.vault.get(&org.id, &name).is_none() {
        return layout::page(
            StatusCode::NOT_FOUND,
            "No such credential",
            place,
            &format!(
                "<p>There is no credential {} (it may have been deleted already).</p><p><a href=\"{}\">Back to the credentials</a></p>",
                text(&name),
                attr(&base)
            ),
        );
    }
    let users = edit::users(&state, &org, &name);
    let mut body = String::new();
    if users.is_empty() {
        body.push_str("<p>No integration and no domain uses this credential.</p>");
    } else {
        body.push_str("<div class=\"problem\" role=\"alert\"><p>This credential is in use. These stop working until they are given another credential:</p><ul>");
        for u in &users.integrations {
            body.push_str(&format!(
                "<li>integration <b>{}</b> (bot {}, dialog {})</li>",
                text(&u.integration),
                text(&u.bot),
                text(&u.dialog)
            ));
        }
        for d in &users.domains {
            body.push_str(&format!("<li>NLU domain <b>{}</b></li>", text(d)));
        }
        body.push_str("</ul></div>");
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"{}/credentials/{}/delete\">\
         <p><button class=\"danger\">Continue</button> <a href=\"{}\">Cancel</a></p></form>",
        attr(&base),
        attr(&segment(&name)),
        attr(&base)
    ));
    layout::page(StatusCode::OK, &format!("Delete {name}?"), place, &body)
}

/// `POST .../credentials/{name}/delete`.
pub async fn delete(
    State(state): State<PlatformState>,
    Path((org, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !same_site(&headers) {
        return cross_site();
    }
    let org = match admitted(&state, &org, &headers) {
        Ok(o) => o,
        Err(page) => return page,
    };
    let base = format!("/console/orgs/{}", segment(org.id.as_str()));
    match edit::remove(&state, &org, &name) {
        // Deleted, or already gone: either way it is not there any more.
        Ok(()) | Err(SaveError::NotFound) => {
            layout::see_other(&format!("{base}?deleted={}", segment(&name)))
        }
        Err(e) => {
            tracing::error!(error = ?e, "console: delete failed");
            layout::page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not deleted",
                Place::Nowhere,
                "<p>The vault could not be written. Nothing was deleted; try again in a moment.</p>",
            )
        }
    }
}
