//! Edit, from a credential's menu: `GET
//! /console/orgs/{org}/credentials/{name}/edit` shows the type's form
//! with the saved values (secrets and files blank: left blank, the saved
//! ones stay), `POST` saves it, validated like a new one.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::add::shown_uri;
use super::form::{self, Context, Entered, Mode};
use super::layout::{self, Place, attr, segment};
use super::session::{admitted, cross_site, same_site};
use super::types::{self, Type};
use super::{authorize, saving};
use crate::platform::PlatformState;
use crate::platform::credentials::{FieldError, edit};
use crate::platform::org::Org;

#[allow(clippy::too_many_arguments)]
fn page(
    state: &PlatformState,
    org: &Org,
    name: &str,
    t: &'static Type,
    entered: &Entered,
    errors: &[FieldError],
    secrets_dropped: bool,
    status: StatusCode,
) -> Response {
    let base = format!("/console/orgs/{}", segment(org.id.as_str()));
    let action = format!("{base}/credentials/{}/edit", segment(name));
    let shown = shown_uri(state, org, t);
    let html = form::render(
        t,
        entered,
        errors,
        &Context {
            mode: Mode::Edit,
            action: &action,
            shown_uri: &shown,
            secrets_dropped,
        },
    );
    layout::page(
        status,
        &format!("Edit {name}"),
        Place::InOrg(org.id.as_str(), name),
        &format!(
            "<p>{}</p>{html}<p><a href=\"{}\">Cancel</a></p>",
            layout::text(t.label),
            attr(&base)
        ),
    )
}

fn missing(org: &Org, name: &str) -> Response {
    layout::page(
        StatusCode::NOT_FOUND,
        "No such credential",
        Place::UnderOrg(org.id.as_str()),
        &format!(
            "<p>Organisation {} has no credential {}.</p>",
            layout::text(org.id.as_str()),
            layout::text(name)
        ),
    )
}

/// `GET .../credentials/{name}/edit`.
pub async fn show(
    State(state): State<PlatformState>,
    Path((org, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let org = match admitted(&state, &org, &headers) {
        Ok(o) => o,
        Err(page) => return page,
    };
    let Some(c) = state.vault.get(&org.id, &name) else {
        return missing(&org, &name);
    };
    let Some(t) = types::find(c.kind.type_name()) else {
        return missing(&org, &name);
    };
    let entered = form::entered_from_view(t, &c.view());
    page(&state, &org, &name, t, &entered, &[], false, StatusCode::OK)
}

/// `POST .../credentials/{name}/edit`.
pub async fn save(
    State(state): State<PlatformState>,
    Path((org, name)): Path<(String, String)>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    if !same_site(&headers) {
        return cross_site();
    }
    let org = match admitted(&state, &org, &headers) {
        Ok(o) => o,
        Err(page) => return page,
    };
    let Some(saved) = state.vault.get(&org.id, &name) else {
        return missing(&org, &name);
    };
    let saved_type = saved.kind.type_name();
    // The type is the saved one's, whatever the form says.
    let find = move |_: &str| types::find(saved_type);
    let (posted, t) = match form::read(multipart, find, Mode::Edit).await {
        Ok(read) => read,
        Err(problem) => return saving::unreadable(&org, &problem),
    };
    let result = {
        let (state, org, name, fields) = (
            state.clone(),
            org.clone(),
            name.clone(),
            posted.fields.clone(),
        );
        saving::off_the_workers(move || edit::replace(&state, &org, &name, fields)).await
    };
    match result {
        Ok(_) => authorize::after_save(&state, &org, &name, posted.then_authorize).await,
        Err(e) => match saving::as_field_errors(e, &name) {
            Ok(errors) => page(
                &state,
                &org,
                &name,
                t,
                &posted.entered,
                &errors,
                posted.secrets_given,
                StatusCode::OK,
            ),
            Err(page) => page,
        },
    }
}
