//! `GET /jwks`: the public signing keys, active and retired (a retired key
//! stays published until removed, so tokens it signed still verify).

use axum::Json;
use axum::extract::State;
use jsonwebtoken::jwk::JwkSet;

use super::state::IdpState;

pub async fn handler(State(state): State<IdpState>) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if state.quirk(super::quirks::Quirk::JwksFailing) {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    Json::<JwkSet>(state.keys().jwks()).into_response()
}
