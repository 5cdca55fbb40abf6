//! "Add credential", as document 004 walks through it: first the name
//! and the type (`GET /console/orgs/{org}/new`), then exactly that type's
//! fields (`GET .../new?type=..`), saved by `POST .../new`. A refused
//! save shows the form again with each error beside its field. For the
//! OAuth 2.0 kinds the button is Authorize: the code credential goes on
//! to the brand's authorization endpoint, the client credentials one
//! fetches its token at once.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::form::{self, Context, Entered, Mode};
use super::layout::{self, Place, attr, segment, text};
use super::session::{admitted, cross_site, same_site};
use super::types::{self, Shows, TYPES, Type};
use super::{authorize, saving};
use crate::platform::PlatformState;
use crate::platform::credentials::{
    FieldError, consumer_authentication, edit, oauth2_authorization_code,
};
use crate::platform::org::Org;

#[derive(Deserialize)]
pub struct Chosen {
    #[serde(default, rename = "type")]
    type_name: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// What the type's form shows above its fields.
pub fn shown_uri(state: &PlatformState, org: &Org, t: &Type) -> String {
    match t.shows {
        Shows::OAuthRedirectUri => oauth2_authorization_code::redirect_uri(state.url()),
        Shows::ConsumerCallback => {
            let [first, _] = consumer_authentication::callback_urls(state.url(), org.id.as_str());
            first
        }
        Shows::Nothing => String::new(),
    }
}

/// `GET /console/orgs/{org}/new[?type=..&name=..]`.
pub async fn show(
    State(state): State<PlatformState>,
    Path(org): Path<String>,
    Query(chosen): Query<Chosen>,
    headers: HeaderMap,
) -> Response {
    let org = match admitted(&state, &org, &headers) {
        Ok(o) => o,
        Err(page) => return page,
    };
    let base = format!("/console/orgs/{}", segment(org.id.as_str()));
    let name = chosen.name.unwrap_or_default();
    match chosen.type_name.as_deref().filter(|t| !t.is_empty()) {
        None => choose_type(&org, &base, &name, None),
        Some(t) => match types::find(t) {
            None => choose_type(&org, &base, &name, Some("Choose one of these types.")),
            Some(t) => {
                let mut entered = Entered::default();
                entered.values.insert("name".into(), vec![name]);
                fields_page(&state, &org, t, &entered, &[], false, StatusCode::OK)
            }
        },
    }
}

/// Step one: the name and the type.
fn choose_type(org: &Org, base: &str, name: &str, problem: Option<&str>) -> Response {
    let options: String = TYPES
        .iter()
        .map(|t| {
            format!(
                "<option value=\"{}\">{}</option>",
                attr(t.name),
                text(t.label)
            )
        })
        .collect();
    let (invalid, error) = match problem {
        Some(p) => (
            " aria-invalid=\"true\" aria-describedby=\"type-error\"",
            format!("<p class=\"error\" id=\"type-error\">{}</p>", text(p)),
        ),
        None => ("", String::new()),
    };
    layout::page(
        StatusCode::OK,
        "Add credential",
        Place::InOrg(org.id.as_str(), "Add credential"),
        &format!(
            "<form method=\"get\" action=\"{b}/new\">\
             <div class=\"field\"><label for=\"f-name\">Name</label>\
             <input type=\"text\" id=\"f-name\" name=\"name\" value=\"{n}\" autofocus aria-describedby=\"f-name-help\">\
             <p class=\"help\" id=\"f-name-help\">A descriptive name; integrations refer to the credential by it.</p></div>\
             <div class=\"field\"><label for=\"f-type\">Authentication type</label>\
             <select id=\"f-type\" name=\"type\"{invalid}>{options}</select>{error}</div>\
             <p><button>Next</button> <a href=\"{b}\">Cancel</a></p></form>",
            b = attr(base),
            n = attr(name),
        ),
    )
}

/// Step two: the type's fields.
pub fn fields_page(
    state: &PlatformState,
    org: &Org,
    t: &'static Type,
    entered: &Entered,
    errors: &[FieldError],
    secrets_dropped: bool,
    status: StatusCode,
) -> Response {
    let base = format!("/console/orgs/{}", segment(org.id.as_str()));
    let action = format!("{base}/new");
    let shown = shown_uri(state, org, t);
    let html = form::render(
        t,
        entered,
        errors,
        &Context {
            mode: Mode::Add,
            action: &action,
            shown_uri: &shown,
            secrets_dropped,
        },
    );
    layout::page(
        status,
        &format!("Add credential: {}", t.label),
        Place::InOrg(org.id.as_str(), "Add credential"),
        &format!(
            "{html}<p><a href=\"{}/new\">Choose another type</a> · <a href=\"{}\">Cancel</a></p>",
            attr(&base),
            attr(&base)
        ),
    )
}

/// `POST /console/orgs/{org}/new`.
pub async fn save(
    State(state): State<PlatformState>,
    Path(org): Path<String>,
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
    let (posted, t) = match form::read(multipart, types::find, Mode::Add).await {
        Ok(read) => read,
        Err(problem) => return saving::unreadable(&org, &problem),
    };
    let name = posted.entered.one("name").to_string();
    let fields = {
        let mut map = posted.fields.clone();
        map.insert("type".into(), t.name.into());
        map
    };
    let result = {
        let (state, org) = (state.clone(), org.clone());
        saving::off_the_workers(move || edit::create(&state, &org, fields)).await
    };
    match result {
        Ok(saved) => authorize::after_save(&state, &org, &saved.name, posted.then_authorize).await,
        Err(e) => match saving::as_field_errors(e, &name) {
            Ok(errors) => fields_page(
                &state,
                &org,
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
