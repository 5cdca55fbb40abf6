//! `GET /jwks`: the public signing keys, active and retired (a retired key
//! stays published until removed, so tokens it signed still verify).

use axum::Json;
use axum::extract::State;
use jsonwebtoken::jwk::JwkSet;

use super::state::IdpState;

pub async fn handler(State(state): State<IdpState>) -> Json<JwkSet> {
    Json(state.keys().jwks())
}
