//! The control surface that makes the IdP a test tool: clock, faults,
//! inspection, reset, key rotation, users and clients at run time.
//!
//! The operations are methods on [`IdpState`], used both by the embedded
//! handle ([`super::MockIdp`]) and by the `/admin` HTTP API. The HTTP API is
//! open on loopback; bound elsewhere it requires `Authorization: Bearer
//! <admin_token>` from the fixtures, and is off without one.

use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::faults::{Endpoint, Fault, IdTokenDefect};
use super::fixtures::{ClientConfig, TokenFormat, UserConfig};
use super::keys::{KeySet, RetireError, SigningAlg, SigningKey};
use super::quirks::Quirk;
use super::records::Records;
use super::state::{Grant, IdpState, Store, token_id};
use crate::clock::Instant;
use crate::secret::Secret;
use crate::wire::ClientId;

/// Why a control operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let (status, error) = match &self {
            ControlError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            ControlError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ControlError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
        };
        (
            status,
            Json(json!({ "error": error, "error_description": self.to_string() })),
        )
            .into_response()
    }
}

/// Lifecycle of an authorization code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeState {
    Unused,
    Used,
    Expired,
}

/// Lifecycle of an access or refresh token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    Active,
    /// A refresh token that was exchanged for its successor.
    Rotated,
    Revoked,
    Expired,
}

impl std::fmt::Display for TokenState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenState::Active => "active",
            TokenState::Rotated => "rotated",
            TokenState::Revoked => "revoked",
            TokenState::Expired => "expired",
        })
    }
}

/// One authorization code, as inspection shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeView {
    pub id: String,
    pub client_id: ClientId,
    pub sub: String,
    pub state: CodeState,
    pub presented: u32,
    pub issued_at: Instant,
    pub expires_at: Instant,
}

/// One access token, as inspection shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessView {
    pub id: String,
    pub client_id: ClientId,
    /// Absent for a client credentials token.
    #[serde(default)]
    pub sub: Option<String>,
    pub scope: String,
    pub format: TokenFormat,
    pub grant: Grant,
    pub state: TokenState,
    pub presented: u32,
    pub issued_at: Instant,
    pub expires_at: Instant,
}

/// One refresh token, as inspection shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshView {
    pub id: String,
    pub client_id: ClientId,
    pub sub: String,
    pub scope: String,
    /// Every refresh token rotated from the same code shares a family.
    pub family: String,
    pub state: TokenState,
    pub presented: u32,
    pub issued_at: Instant,
    pub expires_at: Instant,
}

/// What the IdP holds, in issue order: of each kind the most recent
/// records, up to [`super::Limits::inspect_limit`]. Ids are
/// [`super::token_id`] of the values; values are never shown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    pub codes: Vec<CodeView>,
    pub access_tokens: Vec<AccessView>,
    pub refresh_tokens: Vec<RefreshView>,
    /// How full the store is, and what it forgot.
    #[serde(default)]
    pub store: StoreView,
}

/// The store's size, ceiling and counters since start or reset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreView {
    /// Codes, access and refresh tokens held (live and recently expired).
    pub records: usize,
    /// The ceiling ([`super::Limits::max_records`]).
    pub max_records: usize,
    /// Records of each kind listed at most.
    pub inspect_limit: usize,
    /// Access tokens recorded.
    pub access_tokens_issued: u64,
    /// Records forgotten once expired (by the sweep or at the ceiling).
    pub expired_forgotten: u64,
    /// Live JWT access tokens whose records were forgotten at the ceiling
    /// (still valid by signature).
    pub live_evicted: u64,
    /// New records refused at the ceiling (`temporarily_unavailable`).
    pub refused: u64,
    /// Login sessions held.
    pub sessions: usize,
    /// Login and consent forms in flight.
    pub forms: usize,
}

impl Grants {
    /// The access token whose value is `token`.
    pub fn access_token(&self, token: &str) -> Option<&AccessView> {
        let id = token_id(token);
        self.access_tokens.iter().find(|g| g.id == id)
    }

    /// The refresh token whose value is `token`.
    pub fn refresh_token(&self, token: &str) -> Option<&RefreshView> {
        let id = token_id(token);
        self.refresh_tokens.iter().find(|g| g.id == id)
    }

    /// The code whose value is `code`.
    pub fn code(&self, code: &str) -> Option<&CodeView> {
        let id = token_id(code);
        self.codes.iter().find(|g| g.id == id)
    }

    /// Every refresh token of a family.
    pub fn refresh_family(&self, family: &str) -> impl Iterator<Item = &RefreshView> {
        self.refresh_tokens
            .iter()
            .filter(move |g| g.family == family)
    }
}

/// A user to add at run time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    /// Sent in clear only on the way to the admin API.
    #[serde(serialize_with = "Secret::serialize_exposed")]
    pub password: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default)]
    pub claims: Map<String, Value>,
}

fn user_view(user: &UserConfig) -> Value {
    json!({ "username": user.username, "sub": user.sub(), "claims": user.claims })
}

impl IdpState {
    /// Move the shared clock forward; returns the new time.
    pub fn advance_clock(&self, by: Duration) -> Instant {
        self.clock.advance(by)
    }

    /// Queue `count` faults for `endpoint`.
    pub fn push_fault(
        &self,
        endpoint: Endpoint,
        fault: Fault,
        count: usize,
    ) -> Result<(), ControlError> {
        fault.validate().map_err(ControlError::Invalid)?;
        super::faults::check_count(count).map_err(ControlError::Invalid)?;
        self.faults().push(endpoint, fault, count);
        Ok(())
    }

    /// Make the next `count` ID tokens carry `defect`.
    pub fn push_id_token_defect(
        &self,
        defect: IdTokenDefect,
        count: usize,
    ) -> Result<(), ControlError> {
        super::faults::check_count(count).map_err(ControlError::Invalid)?;
        self.faults().push_defect(defect, count);
        Ok(())
    }

    pub fn clear_faults(&self) {
        self.faults().clear();
    }

    /// What was issued, with its state on the shared clock: the most
    /// recent records of each kind, up to the inspection limit. Forgets
    /// what is past the retention time first, so the listing is what a
    /// scenario would find after the next sweep.
    pub fn grants(&self) -> Grants {
        self.prune();
        let now = self.now();
        let store = self.store();
        let records = &store.records;
        let limit = records.limits().inspect_limit;
        let text = |sym| records.text(sym).to_string();
        let codes = latest(records.codes().map(|(id, c)| (c.seq, id, c)), limit);
        let access = latest(records.access_tokens().map(|(id, a)| (a.seq, id, a)), limit);
        let refresh = latest(
            records.refresh_tokens().map(|(id, r)| (r.seq, id, r)),
            limit,
        );
        Grants {
            codes: codes
                .into_iter()
                .map(|(id, c)| CodeView {
                    id: id.to_string(),
                    client_id: ClientId::new(text(c.client)),
                    sub: text(c.sub),
                    state: if c.used {
                        CodeState::Used
                    } else if now >= c.expires_at {
                        CodeState::Expired
                    } else {
                        CodeState::Unused
                    },
                    presented: c.presented,
                    issued_at: c.issued_at,
                    expires_at: c.expires_at,
                })
                .collect(),
            access_tokens: access
                .into_iter()
                .map(|(id, a)| AccessView {
                    id: id.to_string(),
                    client_id: ClientId::new(text(a.client)),
                    sub: a.sub.map(text),
                    scope: text(a.scope),
                    format: a.format,
                    grant: a.grant,
                    state: if records.access_revoked(a) {
                        TokenState::Revoked
                    } else if now >= a.expires_at() {
                        TokenState::Expired
                    } else {
                        TokenState::Active
                    },
                    presented: a.presented,
                    issued_at: a.issued_at,
                    expires_at: a.expires_at(),
                })
                .collect(),
            refresh_tokens: refresh
                .into_iter()
                .map(|(id, r)| RefreshView {
                    id: id.to_string(),
                    client_id: ClientId::new(text(r.client)),
                    sub: text(r.sub),
                    scope: text(r.scope),
                    family: r.family.to_string(),
                    state: if records.refresh_revoked(r) {
                        TokenState::Revoked
                    } else if r.rotated {
                        TokenState::Rotated
                    } else if now >= r.expires_at {
                        TokenState::Expired
                    } else {
                        TokenState::Active
                    },
                    presented: r.presented,
                    issued_at: r.issued_at,
                    expires_at: r.expires_at,
                })
                .collect(),
            store: store_view(&store, records),
        }
    }

    /// How full the store is (no records listed: cheap enough to poll
    /// during a load test).
    pub fn store_view(&self) -> StoreView {
        let store = self.store();
        store_view(&store, &store.records)
    }

    /// Back to the fixtures: clients, users, keys, clock, no faults, nothing
    /// issued. The limits stay.
    pub fn reset(&self) {
        let mut store = self.store();
        let limits = store.records.limits().clone();
        *store = Store::with_limits(&self.fixtures, limits);
        drop(store);
        self.clear_faults();
        self.clock.reset();
        if let Ok(keys) = self.fixtures.signing_keys() {
            *self.keys_mut() = KeySet::new(keys);
        }
    }

    /// Make a new key active for `alg`; the old one stays in the JWKS.
    pub fn rotate_key(&self, alg: SigningAlg) -> Result<String, ControlError> {
        let key = SigningKey::generate(alg).map_err(|e| ControlError::Invalid(e.to_string()))?;
        Ok(self.keys_mut().rotate(key))
    }

    /// Stop publishing a retired key.
    pub fn retire_key(&self, kid: &str) -> Result<(), ControlError> {
        self.keys_mut().retire(kid).map_err(|e| match e {
            RetireError::Active => {
                ControlError::Conflict(format!("key {kid} is active; rotate first"))
            }
            RetireError::Unknown => ControlError::NotFound(format!("no published key {kid}")),
        })
    }

    pub fn add_user(&self, user: NewUser) -> Result<(), ControlError> {
        let user = UserConfig {
            username: user.username,
            password: user.password,
            sub: user.sub,
            claims: user.claims,
        };
        user.validate().map_err(ControlError::Invalid)?;
        let mut store = self.store();
        if store.users.contains_key(&user.username) {
            return Err(ControlError::Conflict(format!(
                "user {} exists",
                user.username
            )));
        }
        if store.user_by_sub(user.sub()).is_some() {
            return Err(ControlError::Conflict(format!(
                "sub {} is taken",
                user.sub()
            )));
        }
        store.users.insert(user.username.clone(), user);
        Ok(())
    }

    /// Merge `claims` into a user's claims; a `null` removes a claim.
    pub fn set_user_claims(
        &self,
        username: &str,
        claims: Map<String, Value>,
    ) -> Result<Value, ControlError> {
        if claims.contains_key("sub") {
            return Err(ControlError::Invalid("sub cannot be changed".into()));
        }
        let mut store = self.store();
        let user = store
            .users
            .get_mut(username)
            .ok_or_else(|| ControlError::NotFound(format!("no user {username}")))?;
        for (k, v) in claims {
            if v.is_null() {
                user.claims.remove(&k);
            } else {
                user.claims.insert(k, v);
            }
        }
        Ok(user_view(user))
    }

    pub fn add_client(&self, client: ClientConfig) -> Result<(), ControlError> {
        client.validate().map_err(ControlError::Invalid)?;
        if self.keys().active(client.signing_alg).is_none() {
            return Err(ControlError::Invalid(format!(
                "signing_alg: no {} key is loaded",
                client.signing_alg
            )));
        }
        let mut store = self.store();
        if store.clients.contains_key(&client.id) {
            return Err(ControlError::Conflict(format!(
                "client {} exists",
                client.id
            )));
        }
        store.clients.insert(client.id.clone(), client);
        Ok(())
    }
}

/// The `limit` entries with the highest sequence numbers, in issue order.
fn latest<'r, R>(
    records: impl Iterator<Item = (u64, &'r super::records::TokenId, &'r R)>,
    limit: usize,
) -> Vec<(&'r super::records::TokenId, &'r R)> {
    let mut all: Vec<_> = records.collect();
    if all.len() > limit {
        let cut = all.len() - limit;
        all.select_nth_unstable_by_key(cut, |(seq, _, _)| *seq);
        all.drain(..cut);
    }
    all.sort_unstable_by_key(|(seq, _, _)| *seq);
    all.into_iter().map(|(_, id, r)| (id, r)).collect()
}

fn store_view(store: &Store, records: &Records) -> StoreView {
    let counters = records.counters();
    StoreView {
        records: records.len(),
        max_records: records.limits().max_records,
        inspect_limit: records.limits().inspect_limit,
        access_tokens_issued: counters.access_tokens_issued,
        expired_forgotten: counters.expired_forgotten,
        live_evicted: counters.live_evicted,
        refused: counters.refused,
        sessions: store.sessions.len(),
        forms: store.transactions.len(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    advance_secs: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultBody {
    endpoint: Endpoint,
    #[serde(default = "one")]
    count: usize,
    fault: Fault,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DefectBody {
    defect: IdTokenDefect,
    #[serde(default = "one")]
    count: usize,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    #[serde(default)]
    alg: Option<SigningAlg>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimsBody {
    claims: Map<String, Value>,
}

fn one() -> usize {
    1
}

/// A JSON body, or a clear 400 (axum's own rejection is plain text and,
/// for some shapes, a 422).
pub(super) struct JsonBody<T>(pub(super) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ControlError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ControlError::Invalid(format!("cannot read the body: {e}")))?;
        let bytes = if bytes.is_empty() {
            axum::body::Bytes::from_static(b"{}")
        } else {
            bytes
        };
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ControlError::Invalid(format!("bad JSON body: {e}")))
    }
}

fn clock_view(state: &IdpState) -> Json<Value> {
    Json(json!({ "now": state.now(), "offset_secs": state.clock.offset() }))
}

async fn get_clock(State(state): State<IdpState>) -> Json<Value> {
    clock_view(&state)
}

async fn post_clock(
    State(state): State<IdpState>,
    JsonBody(body): JsonBody<ClockBody>,
) -> Json<Value> {
    state.advance_clock(Duration::from_secs(body.advance_secs));
    clock_view(&state)
}

async fn post_fault(
    State(state): State<IdpState>,
    JsonBody(body): JsonBody<FaultBody>,
) -> Result<StatusCode, ControlError> {
    state.push_fault(body.endpoint, body.fault, body.count)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_faults(State(state): State<IdpState>) -> StatusCode {
    state.clear_faults();
    StatusCode::NO_CONTENT
}

async fn post_defect(
    State(state): State<IdpState>,
    JsonBody(body): JsonBody<DefectBody>,
) -> Result<StatusCode, ControlError> {
    state.push_id_token_defect(body.defect, body.count)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_grants(State(state): State<IdpState>) -> Json<Grants> {
    Json(state.grants())
}

async fn get_store(State(state): State<IdpState>) -> Json<StoreView> {
    Json(state.store_view())
}

/// `{"quirks": [...]}`: the quirk modes in force.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuirksBody {
    quirks: Vec<String>,
}

async fn get_quirks(State(state): State<IdpState>) -> Json<Value> {
    let quirks: Vec<String> = state.quirks().into_iter().map(Quirk::name).collect();
    let all: Vec<String> = Quirk::ALL.into_iter().map(Quirk::name).collect();
    Json(json!({ "quirks": quirks, "available": all }))
}

/// Put exactly the given quirks in force (`[]` clears them). A reset
/// leaves them: they are a mode, not state.
async fn put_quirks(
    State(state): State<IdpState>,
    JsonBody(body): JsonBody<QuirksBody>,
) -> Result<StatusCode, ControlError> {
    let quirks = body
        .quirks
        .iter()
        .map(|q| q.parse::<Quirk>())
        .collect::<Result<_, _>>()
        .map_err(ControlError::Invalid)?;
    state.set_quirks(quirks);
    Ok(StatusCode::NO_CONTENT)
}

async fn post_reset(State(state): State<IdpState>) -> StatusCode {
    state.reset();
    StatusCode::NO_CONTENT
}

async fn post_rotate(
    State(state): State<IdpState>,
    JsonBody(body): JsonBody<RotateBody>,
) -> Result<Json<Value>, ControlError> {
    let alg = body.alg.unwrap_or(SigningAlg::RS256);
    // RSA generation is slow: keep it off the async workers.
    let s = state.clone();
    let kid = tokio::task::spawn_blocking(move || s.rotate_key(alg))
        .await
        .map_err(|_| ControlError::Invalid("key generation failed".into()))??;
    Ok(Json(json!({ "kid": kid, "alg": alg })))
}

async fn delete_key(
    State(state): State<IdpState>,
    Path(kid): Path<String>,
) -> Result<StatusCode, ControlError> {
    state.retire_key(&kid)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn post_user(
    State(state): State<IdpState>,
    JsonBody(user): JsonBody<NewUser>,
) -> Result<StatusCode, ControlError> {
    state.add_user(user)?;
    Ok(StatusCode::CREATED)
}

async fn patch_user(
    State(state): State<IdpState>,
    Path(username): Path<String>,
    JsonBody(body): JsonBody<ClaimsBody>,
) -> Result<Json<Value>, ControlError> {
    state.set_user_claims(&username, body.claims).map(Json)
}

async fn post_client(
    State(state): State<IdpState>,
    JsonBody(client): JsonBody<ClientConfig>,
) -> Result<StatusCode, ControlError> {
    state.add_client(client)?;
    Ok(StatusCode::CREATED)
}

/// Loopback: open. Elsewhere: the configured bearer token, or off.
async fn guard(State(state): State<IdpState>, request: Request, next: Next) -> Response {
    if state.admin_open {
        return next.run(request).await;
    }
    let Some(expected) = state.fixtures.idp.admin_token.as_ref() else {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({ "error": "access_denied", "error_description": "the admin API is off: the IdP is not on loopback and no admin_token is configured" })),
        )
            .into_response();
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if presented.is_some_and(|p| expected.matches(p)) {
        next.run(request).await
    } else {
        let mut r = (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_token", "error_description": "the admin API needs the admin bearer token" })),
        )
            .into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            "Bearer realm=\"standin-admin\""
                .parse()
                .expect("static header"),
        );
        r
    }
}

/// The `/admin` routes.
pub fn routes(state: IdpState) -> Router<IdpState> {
    Router::new()
        .route("/admin/clock", get(get_clock).post(post_clock))
        .route("/admin/faults", post(post_fault).delete(delete_faults))
        .route("/admin/id-token-defects", post(post_defect))
        .route("/admin/grants", get(get_grants))
        .route("/admin/store", get(get_store))
        .route("/admin/reset", post(post_reset))
        .route("/admin/quirks", get(get_quirks).put(put_quirks))
        .route("/admin/inspector", get(super::inspector::page))
        .route("/admin/inspector/clock", post(super::inspector::clock))
        .route("/admin/inspector/quirks", post(super::inspector::quirks))
        .route("/admin/inspector/defect", post(super::inspector::defect))
        .route("/admin/inspector/fault", post(super::inspector::fault))
        .route("/admin/inspector/reset", post(super::inspector::reset))
        .route("/admin/keys/rotate", post(post_rotate))
        .route("/admin/keys/{kid}", delete(delete_key))
        .route("/admin/users", post(post_user))
        .route("/admin/users/{username}", patch(patch_user))
        .route("/admin/clients", post(post_client))
        .merge(super::credentials_admin::routes())
        .route_layer(axum::middleware::from_fn_with_state(state, guard))
}
