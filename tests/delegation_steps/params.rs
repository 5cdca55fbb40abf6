//! Parameter types of the step expressions: `{route}` for a brand API
//! route, `{grant}` for the grant that produced an access token. A word
//! that names neither fails the step at parse time, not deep in a check.

use std::str::FromStr;

use cucumber::Parameter;
use standin::brand_api::ApiRoute;
use standin::idp::state::Grant;

/// A route of the brand API, by its name in the admin API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(name = "route", regex = "me|orders|order|payments")]
pub struct Route(pub ApiRoute);

impl FromStr for Route {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Route)
    }
}

impl Route {
    /// The path the request log shows for it (`order` has an id after it).
    pub fn path(self) -> &'static str {
        match self.0 {
            ApiRoute::Me => "/api/me",
            ApiRoute::Orders => "/api/orders",
            ApiRoute::Order => "/api/orders/",
            ApiRoute::Payments => "/api/payments",
        }
    }
}

/// The grant an access token came from, as the IdP's inspection names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(
    name = "grant",
    regex = "authorization_code|refresh_token|client_credentials"
)]
pub struct GrantParam(pub Grant);

impl GrantParam {
    /// Its `grant_type` (RFC 6749).
    pub fn name(self) -> String {
        serde_json::to_value(self.0)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

impl FromStr for GrantParam {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.to_string()))
            .map(GrantParam)
            .map_err(|_| format!("unknown grant {s:?}"))
    }
}
