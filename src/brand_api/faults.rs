//! Fault injection for the brand API: the next N responses of a route fail
//! with a status, stall, or carry malformed JSON. The fault shapes are the
//! IdP's [`Fault`]; the queues are keyed by API route instead of IdP
//! endpoint.
//!
//! A fault applies before the token is looked at, as an outage in front of
//! the API would.

use std::collections::{HashMap, VecDeque};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::error::ErrorCode;
use super::state::BrandApiState;
pub use crate::idp::Fault;

/// The routes a fault can be queued for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiRoute {
    /// `GET /api/me`
    Me,
    /// `GET /api/orders`
    Orders,
    /// `GET /api/orders/{id}`
    Order,
    /// `POST /api/payments`
    Payments,
}

impl std::str::FromStr for ApiRoute {
    type Err = String;

    /// The route by its name in the admin API (`me`, `orders`, `order`, `payments`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.to_ascii_lowercase()))
            .map_err(|_| format!("unknown route {s:?} (me, orders, order, payments)"))
    }
}

/// What the log records as the error of an injected fault.
pub const INJECTED: &str = "injected_fault";

/// Queued faults per route.
#[derive(Debug, Default)]
pub struct RouteFaults {
    queues: HashMap<ApiRoute, VecDeque<Fault>>,
}

impl RouteFaults {
    pub fn push(&mut self, route: ApiRoute, fault: Fault, count: usize) {
        self.queues
            .entry(route)
            .or_default()
            .extend(std::iter::repeat_n(fault, count));
    }

    pub fn take(&mut self, route: ApiRoute) -> Option<Fault> {
        self.queues.get_mut(&route)?.pop_front()
    }

    /// How many faults are still queued for `route`.
    pub fn pending(&self, route: ApiRoute) -> usize {
        self.queues.get(&route).map_or(0, VecDeque::len)
    }

    pub fn clear(&mut self) {
        self.queues.clear();
    }
}

/// Middleware: if a fault is queued for `route`, apply it; a replaced
/// response is marked so the request log says it was injected.
pub async fn inject(
    State((state, route)): State<(BrandApiState, ApiRoute)>,
    request: Request,
    next: Next,
) -> Response {
    let fault = state.faults().take(route);
    let malformed = "{\"orders\": [{\"id\": \"truncated, \"items\":";
    let (mut response, replaced) = crate::idp::faults::apply(fault, malformed, request, next).await;
    if replaced {
        response.extensions_mut().insert(ErrorCode(INJECTED.into()));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_by_name_and_faults_run_out() {
        assert_eq!("Orders".parse::<ApiRoute>(), Ok(ApiRoute::Orders));
        assert!("token".parse::<ApiRoute>().is_err());
        let mut f = RouteFaults::default();
        f.push(ApiRoute::Me, Fault::MalformedJson, 2);
        assert_eq!(f.pending(ApiRoute::Me), 2);
        assert_eq!(f.take(ApiRoute::Me), Some(Fault::MalformedJson));
        assert_eq!(f.take(ApiRoute::Orders), None);
        f.clear();
        assert_eq!(f.take(ApiRoute::Me), None);
    }
}
