//! `GET /api/orders` and `GET /api/orders/{id}` (scope `orders:read`): the
//! consumer's orders.
//!
//! A subject with no data here (a client credentials token, whose `sub` is
//! the client id) has no orders: an empty list, and 404 for any one order.
//! Another consumer's order is 404 too, indistinguishable from none.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::auth::{Caller, Consumer};
use super::error::ApiError;
use super::fixtures::Order;
use super::state::BrandApiState;

/// The scope these routes need.
pub const SCOPE: &str = "orders:read";

#[derive(Serialize)]
pub struct OrderList {
    pub orders: Vec<Order>,
}

pub async fn list(
    State(state): State<BrandApiState>,
    Extension(consumer): Extension<Consumer>,
) -> Json<OrderList> {
    let orders = state
        .with_consumer(&consumer.sub, |c| c.orders.clone())
        .unwrap_or_default();
    Json(OrderList { orders })
}

/// The answer of the orders routes that recognise their caller by another
/// credential than a token ([`super::basic`], [`super::static_token`],
/// [`super::mtls`]): `who` (how the caller was recognised), then the
/// consumer's `sub` and `orders`; the request log names `sub` as the
/// caller.
pub fn of_caller(
    state: &BrandApiState,
    who: impl IntoIterator<Item = (&'static str, Value)>,
    sub: String,
) -> Response {
    let orders = state
        .with_consumer(&sub, |c| c.orders.clone())
        .unwrap_or_default();
    let mut body: Map<String, Value> = who.into_iter().map(|(k, v)| (k.into(), v)).collect();
    body.insert("sub".into(), json!(sub));
    body.insert("orders".into(), json!(orders));
    let mut response = Json(body).into_response();
    response.extensions_mut().insert(Caller {
        sub: Some(sub),
        client_id: None,
    });
    response
}

pub async fn one(
    State(state): State<BrandApiState>,
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
