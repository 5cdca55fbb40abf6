//! `GET /demo/callback`: a redirect target on the IdP itself that shows the
//! authorization response it received, so the link `standin up` prints can
//! be followed in a browser before any platform is running.

use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;

use super::http::{Params, html};
use super::pages;

pub async fn callback(RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    html(StatusCode::OK, pages::demo_callback_page(params.pairs()))
}
