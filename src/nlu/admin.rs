//! The NLU service's control surface over HTTP: `GET /admin/requests` (the
//! request log, [`super::log`]) and `DELETE /admin/requests`. Open on
//! loopback only; bound elsewhere it answers 403.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::log::NluRequest;
use super::state::NluState;

async fn get_requests(State(state): State<NluState>) -> Json<Vec<NluRequest>> {
    Json(state.requests())
}

async fn delete_requests(State(state): State<NluState>) -> StatusCode {
    state.clear_requests();
    StatusCode::NO_CONTENT
}

async fn guard(State(state): State<NluState>, request: Request, next: Next) -> Response {
    if state.admin_open() {
        next.run(request).await
    } else {
        (
            StatusCode::FORBIDDEN,
            Json(json!({ "error": "access_denied", "error_description": "the admin API is open on loopback only" })),
        )
            .into_response()
    }
}

/// The `/admin` routes.
pub fn routes(state: NluState) -> Router<NluState> {
    Router::new()
        .route("/admin/requests", get(get_requests).delete(delete_requests))
        .route_layer(axum::middleware::from_fn_with_state(state, guard))
}
