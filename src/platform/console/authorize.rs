//! Authorize, from a credential's menu or the Add dialog's button:
//! `GET /console/orgs/{org}/credentials/{name}/authorize` sends the
//! browser to the brand for an OAuth 2.0 code credential (it comes back
//! to the platform's callback, which confirms); `POST` on the same path
//! fetches a client credentials credential's token now and says whether
//! it worked.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::layout::{self, Place, attr, segment, text};
use super::session::{admitted, cross_site, same_site};
use crate::platform::PlatformState;
use crate::platform::credentials::{Kind, oauth2_authorization_code, oauth2_client_credentials};
use crate::platform::org::Org;

/// After a save: back to the list, or on to authorize.
pub async fn after_save(
    state: &PlatformState,
    org: &Org,
    name: &str,
    then_authorize: bool,
) -> Response {
    let base = format!("/console/orgs/{}", segment(org.id.as_str()));
    let kind = state.vault.get(&org.id, name).map(|c| c.kind);
    match kind {
        Some(Kind::OAuth2AuthorizationCode(_)) if then_authorize => {
            on_to_the_brand(org, &base, name)
        }
        Some(Kind::OAuth2ClientCredentials(c)) if then_authorize => {
            fetch_now(state, org, name, &c).await
        }
        _ => layout::see_other(&format!("{base}?saved={}", segment(name))),
    }
}

/// Saved; now to the brand. Not a redirect of the form's post: a form's
/// policy (`form-action 'self'`) covers its redirects, and the brand is
/// another site. The page goes on by itself (a refresh, which no policy
/// covers), or by its link.
fn on_to_the_brand(org: &Org, base: &str, name: &str) -> Response {
    let next = format!("{base}/credentials/{}/authorize", segment(name));
    let mut response = layout::page(
        StatusCode::OK,
        &format!("Credential {name} is saved"),
        Place::UnderOrg(org.id.as_str()),
        &format!(
            "<p class=\"notice\" role=\"status\">Now authorize it at the brand: sign in there and allow access; \
             you come back here when it is done.</p><p><a class=\"button\" href=\"{}\">Continue to the brand</a></p>",
            attr(&next)
        ),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("0; url={next}")) {
        response.headers_mut().insert("refresh", v);
    }
    response
}

fn not_authorizable(org: &Org, name: &str) -> Response {
    let base = format!("/console/orgs/{}", segment(org.id.as_str()));
    layout::page(
        StatusCode::NOT_FOUND,
        "Nothing to authorize",
        Place::UnderOrg(org.id.as_str()),
        &format!(
            "<p>{} is not an OAuth 2.0 credential of this organisation: only those are authorized.</p>\
             <p><a href=\"{}\">Back to the credentials</a></p>",
            text(name),
            attr(&base)
        ),
    )
}

/// `GET .../credentials/{name}/authorize`: to the brand's authorization
/// endpoint.
pub async fn in_browser(
    State(state): State<PlatformState>,
    Path((org, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let org = match admitted(&state, &org, &headers) {
        Ok(o) => o,
        Err(page) => return page,
    };
    match state.vault.get(&org.id, &name).map(|c| c.kind) {
        Some(Kind::OAuth2AuthorizationCode(c)) => {
            oauth2_authorization_code::start(&state, &org.id, &name, c)
        }
        _ => not_authorizable(&org, &name),
    }
}

/// `POST .../credentials/{name}/authorize`: a client credentials token now.
pub async fn now(
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
    match state.vault.get(&org.id, &name).map(|c| c.kind) {
        Some(Kind::OAuth2ClientCredentials(c)) => fetch_now(&state, &org, &name, &c).await,
        _ => not_authorizable(&org, &name),
    }
}

async fn fetch_now(
    state: &PlatformState,
    org: &Org,
    name: &str,
    c: &oauth2_client_credentials::ClientCredentials,
) -> Response {
    let base = format!("/console/orgs/{}", segment(org.id.as_str()));
    let back = format!(
        "<p><a href=\"{}\">Back to the credentials</a></p>",
        attr(&base)
    );
    match oauth2_client_credentials::authorize_now(state, &org.id, name, c).await {
        Ok(token) => {
            let lifetime = match token.expires_at {
                Some(at) => format!(
                    " It expires in {} s on the platform's clock and is fetched again then.",
                    at.secs_since(state.clock.now())
                ),
                None => " The brand gave no lifetime.".into(),
            };
            layout::page(
                StatusCode::OK,
                &format!("Credential {name} is authorised"),
                Place::UnderOrg(org.id.as_str()),
                &format!(
                    "<p class=\"notice\" role=\"status\">Authorization passed: the token endpoint issued a token, kept by the platform for the bots.{}</p>{back}",
                    text(&lifetime)
                ),
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "console: authorize failed");
            layout::page(
                StatusCode::BAD_GATEWAY,
                &format!("Credential {name} is not authorised"),
                Place::UnderOrg(org.id.as_str()),
                &format!(
                    "<p class=\"problem\" role=\"alert\">The credential is saved, but the token endpoint gave no token: {}. \
                     Check the client and the token URL (Edit), then Authorize again.</p>{back}",
                    text(&e.to_string())
                ),
            )
        }
    }
}
