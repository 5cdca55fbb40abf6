//! The vault console: document 004's Bot Accounts screens, for people, in
//! plain HTML served by the platform (one small script for the Copy
//! buttons; every page works without it).
//!
//! | route | page |
//! |---|---|
//! | `GET /console` | the organisations |
//! | `GET /console/orgs/{org}` | its credentials, each with a menu: Edit, Authorize/Reauthorize (OAuth 2.0), Delete |
//! | `POST /console/orgs/{org}/session` | the admin token, once per browser session ([`session`]) |
//! | `GET /console/orgs/{org}/new` | Add credential: the name and type, then that type's fields ([`add`]) |
//! | `POST /console/orgs/{org}/new` | save (multipart: key stores and certificates are uploads) |
//! | `GET`, `POST .../credentials/{name}/edit` | [`change`] |
//! | `GET .../credentials/{name}/authorize` | OAuth 2.0 code: to the brand, back to a confirmation ([`authorize`]) |
//! | `POST .../credentials/{name}/authorize` | OAuth 2.0 client credentials: a token now |
//! | `GET`, `POST .../credentials/{name}/delete` | confirmation naming the integrations and domains that use it, then delete ([`delete`]) |
//!
//! Saves go through the same validation as the JSON API
//! ([`crate::platform::credentials::edit`]); the vault's errors are shown
//! beside the fields they are about. No page ever shows a secret.
//!
//! A form shown again with its errors (a refused save, a wrong admin
//! token) answers 200: it is a page for a person, who reads the errors on
//! it, and a browser counts any 4xx page as a failed load. Programs use
//! the JSON API, which answers 400 and 401 with the same errors.

pub mod add;
pub mod authorize;
pub mod change;
pub mod delete;
pub mod form;
pub mod layout;
pub mod list;
pub mod saving;
pub mod session;
pub mod types;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::routing::get;

use super::PlatformState;

pub use session::Sessions;

/// The console's routes; uploads up to `body_limit` bytes.
pub fn routes(body_limit: usize) -> Router<PlatformState> {
    Router::new()
        .route("/console", get(list::organisations))
        .route("/console/console.css", get(layout::stylesheet))
        .route("/console/console.js", get(layout::script))
        .route("/console/icon.svg", get(layout::icon))
        .route("/console/orgs/{org}", get(list::credentials))
        .route(
            "/console/orgs/{org}/session",
            axum::routing::post(session::start),
        )
        .route(
            "/console/orgs/{org}/new",
            get(add::show).post(add::save.layer(DefaultBodyLimit::max(body_limit))),
        )
        .route(
            "/console/orgs/{org}/credentials/{name}/edit",
            get(change::show).post(change::save.layer(DefaultBodyLimit::max(body_limit))),
        )
        .route(
            "/console/orgs/{org}/credentials/{name}/authorize",
            get(authorize::in_browser).post(authorize::now),
        )
        .route(
            "/console/orgs/{org}/credentials/{name}/delete",
            get(delete::confirm).post(delete::delete),
        )
}
