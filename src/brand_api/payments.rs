//! `POST /api/payments` (scope `payments:write`): pay an order, exactly once
//! per idempotency key.
//!
//! The request: header `Idempotency-Key` (required, 1 to 255 visible ASCII
//! characters) and JSON `{"order_id": "1003", "amount": "12.50"}` (the
//! amount a decimal string, at most two decimals, above zero; without an
//! amount the order's total is paid; other fields
//! are ignored). The answer: 201 with
//! `{"payment_id", "order_id", "amount", "status": "accepted"}`.
//!
//! Keys are scoped to the consumer (`sub`). The same key with the same
//! order and amount (`"12.5"` equals `"12.50"`) answers the first payment
//! again, 200 with `Idempotent-Replayed: true`, and pays nothing more; the
//! same key with another order or amount is 422 `idempotency_key_reused`.
//! An order that is not the consumer's is 404 and spends no key.
//!
//! The last [`PAYMENTS_KEPT`] payments are kept, with their keys: under a
//! steady load the oldest go first, and a key that old is new again (as
//! payment APIs forget keys after a day or so).

use std::collections::{HashMap, VecDeque};

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::auth::Consumer;
use super::error::ApiError;
use super::fixtures::Amount;
use super::state::BrandApiState;
use crate::clock::Instant;
use crate::secret::random_token;
use crate::wire::ClientId;

/// The scope this route needs.
pub const SCOPE: &str = "payments:write";

/// The idempotency key header (draft-ietf-httpapi-idempotency-key-header).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// What the API answers for a payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentResponse {
    pub payment_id: String,
    pub order_id: String,
    pub amount: Amount,
    pub status: String,
}

/// One accepted payment, as inspection shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub payment_id: String,
    pub order_id: String,
    pub amount: Amount,
    pub status: String,
    pub sub: String,
    pub client_id: ClientId,
    /// [`crate::idp::token_id`] of the idempotency key.
    pub idempotency_key_id: String,
    /// Shared clock (Unix seconds in JSON).
    pub created_at: Instant,
}

impl Payment {
    fn response(&self) -> PaymentResponse {
        PaymentResponse {
            payment_id: self.payment_id.clone(),
            order_id: self.order_id.clone(),
            amount: self.amount,
            status: self.status.clone(),
        }
    }
}

/// Payments kept, and their idempotency keys; the oldest go first.
pub const PAYMENTS_KEPT: usize = 100_000;

/// A consumer's idempotency key: (`sub`, key).
type Slot = (String, String);

/// Accepted payments, and their keys.
#[derive(Debug, Default)]
pub struct Payments {
    /// The number of each key's payment.
    by_key: HashMap<Slot, u64>,
    /// The payments kept, oldest first, each with its key.
    kept: VecDeque<(Slot, Payment)>,
    /// The number of the oldest payment kept.
    first: u64,
}

impl Payments {
    pub fn all(&self) -> Vec<Payment> {
        self.kept.iter().map(|(_, p)| p.clone()).collect()
    }

    pub fn clear(&mut self) {
        self.by_key.clear();
        self.kept.clear();
    }

    /// The payment made with `slot`'s key, if it is kept.
    fn by_key(&self, slot: &Slot) -> Option<&Payment> {
        let n = *self.by_key.get(slot)?;
        let i = usize::try_from(n.checked_sub(self.first)?).ok()?;
        self.kept.get(i).map(|(_, p)| p)
    }

    /// Keep `payment`, made with `slot`'s key; the oldest goes at the cap.
    fn push(&mut self, slot: Slot, payment: Payment) {
        if self.kept.len() >= PAYMENTS_KEPT
            && let Some((old, _)) = self.kept.pop_front()
        {
            if self.by_key.get(&old) == Some(&self.first) {
                self.by_key.remove(&old);
            }
            self.first += 1;
        }
        let n = self.first + self.kept.len() as u64;
        self.by_key.insert(slot.clone(), n);
        self.kept.push_back((slot, payment));
    }
}

impl BrandApiState {
    /// Every accepted payment, oldest first.
    pub fn payments(&self) -> Vec<Payment> {
        self.payments_store().all()
    }
}

/// A validated payment request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    pub order_id: String,
    /// Absent: the order's total.
    pub amount: Option<Amount>,
}

impl PaymentRequest {
    /// Parse a JSON body, each mistake named.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let bad = |d: &str| ApiError::InvalidRequest(d.to_string());
        let value: Value = serde_json::from_slice(body).map_err(|_| {
            bad("the body is not JSON: send {\"order_id\": \"...\", \"amount\": \"12.50\"}")
        })?;
        let object = value
            .as_object()
            .ok_or_else(|| bad("the body is not a JSON object"))?;
        let order_id = match object.get("order_id") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(Value::String(_)) => return Err(bad("order_id is empty")),
            Some(_) => return Err(bad("order_id must be a string")),
            None => return Err(bad("order_id is missing")),
        };
        let amount = match object.get("amount") {
            Some(Value::String(s)) => Amount::parse(s).map_err(|e| bad(&format!("amount: {e}")))?,
            Some(Value::Number(_)) => {
                return Err(bad(
                    "amount must be a decimal string like \"12.50\", not a number",
                ));
            }
            Some(_) => return Err(bad("amount must be a decimal string like \"12.50\"")),
            None => {
                return Ok(Self {
                    order_id,
                    amount: None,
                });
            }
        };
        if amount.cents() == 0 {
            return Err(bad("amount must be above zero"));
        }
        Ok(Self {
            order_id,
            amount: Some(amount),
        })
    }
}

/// The one `Idempotency-Key` header.
pub fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let mut values = headers.get_all(IDEMPOTENCY_KEY).iter();
    let value = values.next().ok_or_else(|| {
        ApiError::InvalidRequest("the Idempotency-Key header is required for payments".into())
    })?;
    if values.next().is_some() {
        return Err(ApiError::InvalidRequest(
            "more than one Idempotency-Key header".into(),
        ));
    }
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::InvalidRequest(
                "the Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
            )
        })?;
    Ok(key.to_string())
}

/// The request body, refusing non-JSON content types and oversized bodies
/// with a JSON error instead of axum's plain-text rejections.
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ok = ct.to_str().ok().is_some_and(|ct| {
                let essence = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                essence == "application/json" || essence.ends_with("+json")
            });
            if !ok {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as application/json".into(),
                ));
            }
        }
        Bytes::from_request(req, state)
            .await
            .map(JsonBytes)
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge("the body is too large".into())
                } else {
                    ApiError::InvalidRequest("the body cannot be read".into())
                }
            })
    }
}

pub async fn handler(
    State(state): State<BrandApiState>,
    Extension(consumer): Extension<Consumer>,
    headers: HeaderMap,
    JsonBytes(body): JsonBytes,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let request = PaymentRequest::parse(&body)?;
    let order_total = state
        .with_consumer(&consumer.sub, |c| {
            c.order(&request.order_id).map(|o| o.total)
        })
        .flatten();
    let order_exists = order_total.is_some();
    // No amount: pay the order's total.
    let amount = request.amount.or(order_total);
    let now = state.trust().now();
    let mut store = state.payments_store();
    let slot = (consumer.sub.clone(), key);
    if let Some(first) = store.by_key(&slot) {
        if first.order_id != request.order_id || Some(first.amount) != amount {
            return Err(ApiError::IdempotencyKeyReused(
                "this Idempotency-Key was used for another order or amount".into(),
            ));
        }
        let mut response = (StatusCode::OK, Json(first.response())).into_response();
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        return Ok(response);
    }
    let (true, Some(amount)) = (order_exists, amount) else {
        return Err(ApiError::NotFound("no such order for this consumer".into()));
    };
    let payment = Payment {
        payment_id: format!("pay_{}", random_token(12)),
        order_id: request.order_id,
        amount,
        status: "accepted".into(),
        sub: consumer.sub,
        client_id: consumer.client_id,
        idempotency_key_id: crate::wire::token_id(&slot.1),
        created_at: now,
    };
    let response = payment.response();
    store.push(slot, payment);
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(id: usize) -> Payment {
        Payment {
            payment_id: format!("pay_{id}"),
            order_id: "1003".into(),
            amount: Amount::from_cents(100),
            status: "accepted".into(),
            sub: "s".into(),
            client_id: "c".into(),
            idempotency_key_id: String::new(),
            created_at: crate::clock::Instant::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_latest_payments_and_their_keys_are_kept() {
        let mut payments = Payments::default();
        let slot = |i: usize| ("s".to_string(), format!("key-{i}"));
        for i in 0..PAYMENTS_KEPT + 10 {
            payments.push(slot(i), payment(i));
        }
        assert_eq!(payments.kept.len(), PAYMENTS_KEPT);
        assert_eq!(payments.by_key.len(), PAYMENTS_KEPT);
        assert!(
            payments.by_key(&slot(9)).is_none(),
            "forgotten with its payment"
        );
        assert_eq!(payments.by_key(&slot(10)).unwrap().payment_id, "pay_10");
        let last = PAYMENTS_KEPT + 9;
        assert_eq!(
            payments.by_key(&slot(last)).unwrap().payment_id,
            format!("pay_{last}")
        );
        assert_eq!(payments.all()[0].payment_id, "pay_10");
    }

    #[test]
    fn payment_bodies_are_checked_field_by_field() {
        let ok =
            PaymentRequest::parse(br#"{"order_id": "1003", "amount": "12.5", "note": 1}"#).unwrap();
        assert_eq!(ok.amount.unwrap().to_string(), "12.50");
        let whole = PaymentRequest::parse(br#"{"order_id": "1003"}"#).unwrap();
        assert_eq!(whole.amount, None, "no amount: the order's total is paid");
        for (body, needle) in [
            (&b"nope"[..], "not JSON"),
            (b"[]", "object"),
            (br#"{"amount": "1"}"#, "order_id is missing"),
            (br#"{"order_id": 3, "amount": "1"}"#, "string"),
            (br#"{"order_id": "1", "amount": 12.5}"#, "not a number"),
            (br#"{"order_id": "1", "amount": "-1"}"#, "amount"),
            (br#"{"order_id": "1", "amount": "0.00"}"#, "above zero"),
        ] {
            let e = PaymentRequest::parse(body).unwrap_err();
            assert!(e.to_string().contains(needle), "{e} for {body:?}");
        }
    }
}
