//! `GET /api/me` (scope `profile`): the consumer's profile.
//!
//! A token whose `sub` is no consumer of this brand (a client credentials
//! token, whose `sub` is the client id) gets 404.

use axum::extract::State;
use axum::{Extension, Json};
use serde_json::{Map, Value};

use super::auth::Consumer;
use super::error::ApiError;
use super::state::BrandApiState;

/// The scope this route needs.
pub const SCOPE: &str = "profile";

pub async fn handler(
    State(state): State<BrandApiState>,
    Extension(consumer): Extension<Consumer>,
) -> Result<Json<Map<String, Value>>, ApiError> {
    let profile = state
        .with_consumer(&consumer.sub, |data| {
            let mut profile = Map::new();
            profile.insert("sub".into(), Value::String(data.sub.clone()));
            profile.extend(data.profile.clone());
            profile
        })
        .ok_or_else(|| ApiError::NotFound("no consumer profile for this token's subject".into()))?;
    Ok(Json(profile))
}
