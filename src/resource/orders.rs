//! `GET /api/orders` and `GET /api/orders/{id}` (scope `orders:read`): the
//! consumer's orders.
//!
//! A subject with no data here (a client credentials token, whose `sub` is
//! the client id) has no orders: an empty list, and 404 for any one order.
//! Another consumer's order is 404 too, indistinguishable from none.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Serialize;

use super::auth::Consumer;
use super::error::ApiError;
use super::fixtures::Order;
use super::state::ResourceState;

/// The scope these routes need.
pub const SCOPE: &str = "orders:read";

#[derive(Serialize)]
pub struct OrderList {
    pub orders: Vec<Order>,
}

pub async fn list(
    State(state): State<ResourceState>,
    Extension(consumer): Extension<Consumer>,
) -> Json<OrderList> {
    let orders = state
        .with_consumer(&consumer.sub, |c| c.orders.clone())
        .unwrap_or_default();
    Json(OrderList { orders })
}

pub async fn one(
    State(state): State<ResourceState>,
    Extension(consumer): Extension<Consumer>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Order>, ApiError> {
    let Path(id) =
        id.map_err(|_| ApiError::InvalidRequest("the order id is not valid UTF-8".into()))?;
    state
        .with_consumer(&consumer.sub, |c| c.order(&id).cloned())
        .flatten()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("no such order for this consumer".into()))
}
