//! The mock brand API against a real mock IdP: tokens obtained over HTTP
//! (client credentials, and the authorization code flow driven through the
//! IdP's forms), forged tokens, the shared clock, key rotation, idempotent
//! payments, the request log and faults.
//!
//! Decisions the tests pin down:
//! - a client credentials token's `sub` is the client id, which is no
//!   consumer: `/api/orders` is an empty list, `/api/me` and any one order
//!   404, a payment 404 (no such order);
//! - a missing token is 401 `invalid_token` (not RFC 6750's bare challenge);
//! - opaque tokens are 401 `invalid_token` unless the API has a client for
//!   the IdP's introspection endpoint (RFC 7662; the `introspection` tests).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode as AxumStatus};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use standin::brand_api::auth::parse_bearer;
use standin::brand_api::{
    ApiRoute, BrandApiFixtures, BrandApiOptions, BrandApiState, MockBrandApi, router,
};
use standin::clock::Clock;
use standin::conformance::agent::{ConsumerAgent, FormHints};
use standin::idp::keys::{SigningAlg, SigningKey};
use standin::idp::{ClientConfig, Fixtures, IdpOptions, MockIdp, token_id};
use tower::ServiceExt as _;
use url::Url;

const ALICE_SUB: &str = "c0ffee00-a11c-4e00-8000-000000000001";
const BOB_SUB: &str = "c0ffee00-b0b0-4e00-8000-000000000002";
const TESTER: &str = "api-tester";
const TESTER_SECRET: &str = "api-tester-secret";
const TESTER_REDIRECT: &str = "http://127.0.0.1:9/callback";
const SERVICE: &str = "demo-service";
const SERVICE_SECRET: &str = "demo-service-secret";

/// An IdP and a brand API sharing one clock, and an HTTP client.
struct World {
    idp: MockIdp,
    api: MockBrandApi,
    http: reqwest::Client,
}

async fn world() -> World {
    let clock = Clock::new();
    let idp = MockIdp::start_with(
        Fixtures::default_brand(),
        IdpOptions {
            clock: clock.clone(),
            ..IdpOptions::default()
        },
    )
    .await
    .expect("IdP starts");
    add_client(
        &idp,
        json!({
            "id": TESTER,
            "secret": TESTER_SECRET,
            "redirect_uris": [TESTER_REDIRECT],
            "grant_types": ["authorization_code"],
            "scopes": ["openid", "profile", "orders:read", "payments:write"],
        }),
    );
    let mut options = BrandApiOptions::new(idp.issuer());
    options.clock = clock;
    let api = MockBrandApi::start_with(options).await.expect("API starts");
    World {
        idp,
        api,
        http: reqwest::Client::new(),
    }
}

fn add_client(idp: &MockIdp, client: Value) {
    let client: ClientConfig = serde_json::from_value(client).expect("client JSON");
    idp.control().add_client(client).expect("client added");
}

fn admin_http() -> reqwest::Client {
    reqwest::Client::new()
}

impl World {
    fn api(&self, path: &str) -> String {
        format!("{}{path}", self.api.url())
    }

    /// A client credentials token over HTTP.
    async fn client_token(&self, client: &str, secret: &str, scope: &str) -> String {
        let response = self
            .http
            .post(format!("{}/token", self.idp.issuer()))
            .basic_auth(client, Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", scope)])
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), StatusCode::OK, "token for {client}");
        let body: Value = response.json().await.expect("token JSON");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// A consumer's access token: the code flow through the IdP's login
    /// form (the tester client asks no consent), then the code exchange.
    async fn consumer_token(&self, username: &str, scope: &str) -> String {
        let mut agent = ConsumerAgent::new(FormHints::default()).expect("agent");
        agent.stop_at(TESTER_REDIRECT);
        let url = Url::parse_with_params(
            &format!("{}/authorize", self.idp.issuer()),
            &[
                ("response_type", "code"),
                ("client_id", TESTER),
                ("redirect_uri", TESTER_REDIRECT),
                ("scope", scope),
                ("state", "resource-tests"),
            ],
        )
        .expect("authorize URL");
        let landing = agent.open(&url).await.expect("authorize");
        let page = landing.page().expect("a login page").clone();
        let landing = agent
            .sign_in(&page, username, &format!("{username}-password"))
            .await
            .expect("sign in");
        let code = landing
            .callback()
            .unwrap_or_else(|| panic!("no redirect back: {}", landing.describe()))
            .get("code")
            .expect("code")
            .to_string();
        let response = self
            .http
            .post(format!("{}/token", self.idp.issuer()))
            .basic_auth(TESTER, Some(TESTER_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", TESTER_REDIRECT),
            ])
            .send()
            .await
            .expect("code exchange");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("token JSON");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(self.api(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("API request")
    }

    async fn pay(&self, token: &str, key: Option<&str>, body: Value) -> reqwest::Response {
        let mut request = self.http.post(self.api("/api/payments")).bearer_auth(token);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.json(&body).send().await.expect("payment request")
    }

    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = admin_http().request(method, self.api(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("admin request")
    }

    /// `GET` an admin route's JSON.
    async fn admin_json(&self, path: &str) -> Value {
        self.admin(reqwest::Method::GET, path, None)
            .await
            .json()
            .await
            .expect("admin JSON")
    }

    /// The fixture signing key the IdP signs RS256 tokens with (public test
    /// fixtures, so a test can sign claims of its choosing with it).
    fn fixture_key(&self) -> SigningKey {
        Fixtures::default_brand()
            .signing_keys()
            .expect("fixture keys")
            .into_iter()
            .find(|k| k.alg() == SigningAlg::RS256)
            .expect("an RS256 fixture key")
    }

    fn claims(&self, scope: &str) -> Value {
        let now = self.api.clock().now().unix_secs();
        json!({
            "iss": self.idp.issuer(), "sub": ALICE_SUB, "aud": "brand-api",
            "exp": now + 300, "iat": now, "nbf": now, "jti": "t1",
            "client_id": TESTER, "scope": scope,
        })
    }
}

/// The parts of a refusal every test checks.
async fn refusal(response: reqwest::Response) -> (StatusCode, String, Value) {
    let status = response.status();
    let challenge = response
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().expect("ASCII challenge").to_string())
        .unwrap_or_default();
    let body: Value = response.json().await.expect("JSON error body");
    (status, challenge, body)
}

async fn assert_invalid_token(response: reqwest::Response, needle: &str) {
    let (status, challenge, body) = refusal(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        challenge.starts_with(
            "Bearer realm=\"brand-api\", error=\"invalid_token\", error_description=\""
        ),
        "{challenge}"
    );
    assert_eq!(body["error"], "invalid_token");
    let description = body["error_description"].as_str().expect("description");
    assert!(
        description.contains(needle),
        "{description:?} does not mention {needle:?}"
    );
    assert!(
        challenge.contains(description),
        "{challenge} vs {description}"
    );
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn a_consumer_reads_their_own_profile_and_orders() {
    let w = world().await;
    let token = w
        .consumer_token("alice", "openid profile orders:read")
        .await;

    let me: Value = w.get("/api/me", Some(&token)).await.json().await.unwrap();
    assert_eq!(me["sub"], ALICE_SUB);
    assert_eq!(me["name"], "Alice Example");

    let response = w.get("/api/orders", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let orders: Value = response.json().await.unwrap();
    let ids: Vec<&str> = orders["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1001", "1002", "1003"]);

    let one: Value = w
        .get("/api/orders/1003", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["total"], "12.50");
    assert_eq!(one["status"], "awaiting_payment");
    assert!(one["items"].as_array().is_some_and(|i| !i.is_empty()));

    for other in ["/api/orders/2001", "/api/orders/nope", "/api/orders/%FF"] {
        let response = w.get(other, Some(&token)).await;
        let status = response.status();
        let body: Value = response.json().await.expect("JSON");
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST,
            "{other}: {status}"
        );
        assert!(body["error"].is_string(), "{other}: {body}");
    }
    assert_eq!(w.get("/api/orders/2001", Some(&token)).await.status(), 404);

    let bob = w.consumer_token("bob", "profile orders:read").await;
    let me: Value = w.get("/api/me", Some(&bob)).await.json().await.unwrap();
    assert_eq!(me["sub"], BOB_SUB);
    let orders: Value = w.get("/api/orders", Some(&bob)).await.json().await.unwrap();
    assert_eq!(orders["orders"][0]["id"], "2001");
    assert_eq!(w.get("/api/orders/2001", Some(&bob)).await.status(), 200);
    assert_eq!(w.get("/api/orders/1001", Some(&bob)).await.status(), 404);
}

#[tokio::test]
async fn a_client_credentials_token_is_no_consumer() {
    let w = world().await;
    let token = w
        .client_token(SERVICE, SERVICE_SECRET, "orders:read payments:write")
        .await;
    let response = w.get("/api/orders", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "orders": [] }));
    assert_eq!(w.get("/api/orders/1001", Some(&token)).await.status(), 404);
    let response = w
        .pay(
            &token,
            Some("k1"),
            json!({"order_id": "1001", "amount": "1.00"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(w.api.control().payments().is_empty());
}

#[tokio::test]
async fn a_token_without_the_route_scope_is_403_naming_it() {
    let w = world().await;
    let token = w
        .client_token(SERVICE, SERVICE_SECRET, "payments:write")
        .await;
    let (status, challenge, body) = refusal(w.get("/api/orders", Some(&token)).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        challenge.starts_with("Bearer realm=\"brand-api\", error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.ends_with(", scope=\"orders:read\""),
        "{challenge}"
    );
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(body["scope"], "orders:read");

    let (status, challenge, _) = refusal(w.get("/api/me", Some(&token)).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(challenge.ends_with("scope=\"profile\""), "{challenge}");

    let consumer = w.consumer_token("alice", "openid profile").await;
    let (status, challenge, _) = refusal(
        w.pay(
            &consumer,
            Some("k"),
            json!({"order_id": "1003", "amount": "12.50"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        challenge.ends_with("scope=\"payments:write\""),
        "{challenge}"
    );
}

#[tokio::test]
async fn missing_malformed_and_opaque_tokens_are_invalid_token() {
    let w = world().await;
    assert_invalid_token(w.get("/api/orders", None).await, "no access token").await;
    let basic = w
        .http
        .get(w.api("/api/orders"))
        .basic_auth("a", Some("b"))
        .send()
        .await
        .unwrap();
    assert_invalid_token(basic, "not a Bearer token").await;
    assert_invalid_token(w.get("/api/orders", Some("a.b")).await, "not a JWT").await;
    assert_invalid_token(w.get("/api/orders", Some("x.y.z")).await, "header").await;
    let two = w
        .http
        .get(w.api("/api/orders"))
        .header("Authorization", "Bearer a.b.c")
        .header("Authorization", "Bearer d.e.f")
        .send()
        .await
        .unwrap();
    assert_invalid_token(two, "more than one").await;

    add_client(
        &w.idp,
        json!({
            "id": "opaque-service", "secret": "opaque-secret",
            "grant_types": ["client_credentials"], "scopes": ["orders:read"],
            "access_token_format": "opaque",
        }),
    );
    let opaque = w
        .client_token("opaque-service", "opaque-secret", "orders:read")
        .await;
    assert_invalid_token(
        w.get("/api/orders", Some(&opaque)).await,
        "JWT access tokens",
    )
    .await;
}

#[tokio::test]
async fn tokens_expire_on_the_shared_clock() {
    let w = world().await;
    let token = w.client_token(SERVICE, SERVICE_SECRET, "orders:read").await;
    assert_eq!(w.get("/api/orders", Some(&token)).await.status(), 200);
    // demo-service tokens live 600 s; the IdP's clock is the API's clock.
    w.idp.control().advance_clock(Duration::from_secs(599));
    assert_eq!(w.get("/api/orders", Some(&token)).await.status(), 200);
    w.idp.control().advance_clock(Duration::from_secs(1));
    assert_invalid_token(w.get("/api/orders", Some(&token)).await, "expired").await;
    let last = w.api.control().requests().pop().unwrap();
    assert_eq!(
        last.sub.as_deref(),
        Some(SERVICE),
        "a verified, expired token still names its caller"
    );
    assert_eq!(last.error.as_deref(), Some("invalid_token"));

    let mut claims = w.claims("orders:read");
    let now = w.api.clock().now().unix_secs();
    claims["nbf"] = json!(now + 60);
    let early = w.fixture_key().sign_jwt("at+jwt", &claims);
    assert_invalid_token(w.get("/api/orders", Some(&early)).await, "not valid yet").await;
    let mut claims = w.claims("orders:read");
    claims.as_object_mut().unwrap().remove("exp");
    let forever = w.fixture_key().sign_jwt("at+jwt", &claims);
    assert_invalid_token(w.get("/api/orders", Some(&forever)).await, "no exp").await;
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_the_old_one_still_verifies() {
    let w = world().await;
    let old = w.client_token(SERVICE, SERVICE_SECRET, "orders:read").await;
    assert_eq!(w.get("/api/orders", Some(&old)).await.status(), 200);
    assert_eq!(w.api.control().jwks_fetches(), 1);

    let kid = w
        .idp
        .control()
        .rotate_key(SigningAlg::RS256)
        .expect("rotation");
    let new = w.client_token(SERVICE, SERVICE_SECRET, "orders:read").await;
    let header = jsonwebtoken::decode_header(&new).unwrap();
    assert_eq!(header.kid.as_deref(), Some(kid.as_str()));

    // Many requests with the new kid at once: one fetch between them.
    let calls = (0..20).map(|_| w.get("/api/orders", Some(&new)));
    for response in futures::future::join_all(calls).await {
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(w.api.control().jwks_fetches(), 2);
    assert_eq!(w.get("/api/orders", Some(&old)).await.status(), 200);
    assert_eq!(w.get("/api/orders", Some(&new)).await.status(), 200);
    assert_eq!(w.api.control().jwks_fetches(), 2);

    let keys: Value = w.admin_json("/admin/keys").await;
    assert_eq!(keys["fetches"], 2);
    assert!(keys["kids"].as_array().unwrap().contains(&json!(kid)));
}

#[tokio::test]
async fn an_unknown_kid_storm_costs_one_fetch() {
    let w = world().await;
    let good = w.client_token(SERVICE, SERVICE_SECRET, "orders:read").await;
    assert_eq!(w.get("/api/orders", Some(&good)).await.status(), 200);
    let before = w.api.control().jwks_fetches();

    let stranger = SigningKey::generate(SigningAlg::ES256).unwrap();
    let forged = stranger.sign_jwt("at+jwt", &w.claims("orders:read"));
    let calls = (0..25).map(|_| w.get("/api/orders", Some(&forged)));
    for response in futures::future::join_all(calls).await {
        assert_invalid_token(response, "kid").await;
    }
    assert_eq!(w.api.control().jwks_fetches(), before + 1);
    // The same kid again later: remembered as missing, no fetch.
    assert_invalid_token(w.get("/api/orders", Some(&forged)).await, "kid").await;
    assert_eq!(w.api.control().jwks_fetches(), before + 1);
    assert_eq!(w.get("/api/orders", Some(&good)).await.status(), 200);
}

#[tokio::test]
async fn forged_tokens_are_refused() {
    let w = world().await;
    let good = w.client_token(SERVICE, SERVICE_SECRET, "orders:read").await;
    let kid = jsonwebtoken::decode_header(&good).unwrap().kid.unwrap();
    let claims = w.claims("orders:read");

    // alg none, naming a real kid.
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "at+jwt", "kid": kid})),
        b64(&claims)
    );
    assert_invalid_token(w.get("/api/orders", Some(&none)).await, "alg none").await;
    let none_sig = format!("{none}AAAA");
    assert_invalid_token(w.get("/api/orders", Some(&none_sig)).await, "alg none").await;

    // HS256 keyed with the RSA public key (the JWKS's own bytes, and its modulus).
    let jwks: Value = w
        .http
        .get(format!("{}/jwks", w.idp.issuer()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == json!(kid))
        .unwrap()
        .clone();
    for secret in [
        jwk.to_string().into_bytes(),
        URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap(),
    ] {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(kid.clone());
        header.typ = Some("at+jwt".into());
        let hmac = jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&secret),
        )
        .unwrap();
        assert_invalid_token(w.get("/api/orders", Some(&hmac)).await, "alg").await;
    }

    // A real kid, another key's signature.
    let stranger = SigningKey::generate(SigningAlg::RS256).unwrap();
    let unsigned_part = {
        let mut t = stranger.sign_jwt("at+jwt", &claims);
        let header = b64(&json!({"alg": "RS256", "typ": "at+jwt", "kid": kid}));
        let rest = t.split_off(t.find('.').unwrap());
        format!("{header}{rest}")
    };
    assert_invalid_token(
        w.get("/api/orders", Some(&unsigned_part)).await,
        "signature",
    )
    .await;

    // A tampered payload under a good signature.
    let mut parts: Vec<String> = good.split('.').map(String::from).collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["scope"] = json!("orders:read payments:write profile");
    parts[1] = b64(&payload);
    assert_invalid_token(
        w.get("/api/orders", Some(&parts.join("."))).await,
        "signature",
    )
    .await;

    // No kid.
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = None;
    let no_kid = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"k"),
    )
    .unwrap();
    assert_invalid_token(w.get("/api/orders", Some(&no_kid)).await, "no kid").await;

    // Signed with the real key: a wrong typ, and plain JWT accepted.
    let key = w.fixture_key();
    let id_typed = key.sign_jwt("id_token+jwt", &claims);
    assert_invalid_token(w.get("/api/orders", Some(&id_typed)).await, "typ").await;
    let plain = key.sign_jwt("JWT", &claims);
    assert_eq!(w.get("/api/orders", Some(&plain)).await.status(), 200);
}

#[tokio::test]
async fn tokens_for_another_issuer_or_audience_are_refused() {
    let w = world().await;
    // Another IdP with the same fixture keys (so the same kids): only iss differs.
    let other = MockIdp::start(Fixtures::default_brand()).await.unwrap();
    let response = w
        .http
        .post(format!("{}/token", other.issuer()))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "orders:read"),
        ])
        .send()
        .await
        .unwrap();
    let foreign: Value = response.json().await.unwrap();
    let foreign = foreign["access_token"].as_str().unwrap();
    assert_invalid_token(w.get("/api/orders", Some(foreign)).await, "another issuer").await;

    add_client(
        &w.idp,
        json!({
            "id": "other-api-client", "secret": "other-secret",
            "grant_types": ["client_credentials"], "scopes": ["orders:read"],
            "audience": "other-api",
        }),
    );
    let elsewhere = w
        .client_token("other-api-client", "other-secret", "orders:read")
        .await;
    assert_invalid_token(
        w.get("/api/orders", Some(&elsewhere)).await,
        "not meant for this API",
    )
    .await;

    // An ID token is no access token: its audience is the client.
    let mut claims = w.claims("orders:read");
    claims["aud"] = json!(TESTER);
    let id_token = w.fixture_key().sign_jwt("JWT", &claims);
    assert_invalid_token(w.get("/api/orders", Some(&id_token)).await, "aud").await;
    // An audience array that contains ours is fine.
    claims["aud"] = json!([TESTER, "brand-api"]);
    let both = w.fixture_key().sign_jwt("at+jwt", &claims);
    assert_eq!(w.get("/api/orders", Some(&both)).await.status(), 200);
}

#[tokio::test]
async fn payments_are_idempotent_per_key() {
    let w = world().await;
    let token = w
        .consumer_token("alice", "orders:read payments:write")
        .await;
    let body = json!({"order_id": "1003", "amount": "12.50"});

    let (status, _, error) = refusal(w.pay(&token, None, body.clone()).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["error_description"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key")
    );

    let first = w.pay(&token, Some("key-1"), body.clone()).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["order_id"], "1003");
    assert_eq!(first["amount"], "12.50");
    assert_eq!(first["status"], "accepted");
    assert!(first["payment_id"].as_str().is_some_and(|p| !p.is_empty()));

    let again = w
        .pay(
            &token,
            Some("key-1"),
            json!({"order_id": "1003", "amount": "12.5"}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);

    let (status, _, error) = refusal(
        w.pay(
            &token,
            Some("key-1"),
            json!({"order_id": "1003", "amount": "1.00"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"], "idempotency_key_reused");

    // Concurrent retries of one new key: one payment.
    let calls = (0..10).map(|_| {
        w.pay(
            &token,
            Some("key-2"),
            json!({"order_id": "1001", "amount": "42.50"}),
        )
    });
    let statuses: Vec<u16> = futures::future::join_all(calls)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        9,
        "{statuses:?}"
    );

    let payments = w.api.control().payments();
    assert_eq!(payments.len(), 2);
    assert_eq!(payments[0].sub, ALICE_SUB);
    assert_eq!(payments[0].client_id, TESTER);

    // Bob's order, bad bodies, another content type.
    let (status, _, _) = refusal(
        w.pay(
            &token,
            Some("key-3"),
            json!({"order_id": "2001", "amount": "1"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // No amount: the order's total (12.50 GBP for 1003) is paid.
    let whole = w
        .pay(&token, Some("key-total"), json!({"order_id": "1003"}))
        .await;
    assert_eq!(whole.status(), StatusCode::CREATED);
    let whole: serde_json::Value = whole.json().await.unwrap();
    assert_eq!(whole["amount"], "12.50", "{whole}");
    for bad in [json!({"order_id": "1003", "amount": 12.5}), json!([1])] {
        let (status, _, e) = refusal(w.pay(&token, Some("key-4"), bad).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(e["error"], "invalid_request");
    }
    let text = w
        .http
        .post(w.api("/api/payments"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "key-5")
        .header("Content-Type", "text/plain")
        .body("order_id=1003")
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let big = w
        .http
        .post(w.api("/api/payments"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "key-6")
        .header("Content-Type", "application/json")
        .body(vec![b' '; 200 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let _: Value = big.json().await.expect("a JSON 413");
    // The two keyed payments above and the order-total one; no refused body made one.
    assert_eq!(w.api.control().payments().len(), 3);

    // Bob's key space is his own.
    let bob = w.consumer_token("bob", "payments:write").await;
    let response = w
        .pay(
            &bob,
            Some("key-1"),
            json!({"order_id": "2001", "amount": "64.00"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_request_log_names_tokens_by_id_and_callers_by_sub() {
    let w = world().await;
    let alice = w
        .consumer_token("alice", "openid profile orders:read")
        .await;
    let service = w
        .client_token(SERVICE, SERVICE_SECRET, "payments:write")
        .await;
    let at = w.api.clock().now().unix_secs();
    w.get("/api/me", Some(&alice)).await;
    w.get("/api/orders/2001", Some(&alice)).await;
    w.get("/api/orders", Some(&service)).await;
    w.get("/api/orders", None).await;
    w.get(
        "/api/orders?access_token=secret-in-query",
        Some("not-a-jwt"),
    )
    .await;
    w.get("/nowhere", None).await;

    let response = w.admin(reqwest::Method::GET, "/admin/requests", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains(&alice) && !text.contains(&service),
        "token values in the log"
    );
    assert!(
        !text.contains("secret-in-query"),
        "query strings in the log"
    );
    let log: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(log.len(), 6, "{log:#?}");
    assert_eq!(
        log[0],
        json!({
            "at": log[0]["at"], "method": "GET", "path": "/api/me",
            "token_id": token_id(&alice), "scheme": "Bearer", "basic_user": null,
            "client_cert": null, "sub": ALICE_SUB, "client_id": TESTER,
            "status": 200, "error": null,
        })
    );
    assert!((at..at + 5).contains(&log[0]["at"].as_i64().unwrap()));
    assert_eq!(log[1]["status"], 404);
    assert_eq!(log[1]["error"], "not_found");
    assert_eq!(log[2]["token_id"], json!(token_id(&service)));
    assert_eq!(log[2]["sub"], SERVICE);
    assert_eq!(log[2]["status"], 403);
    assert_eq!(log[2]["error"], "insufficient_scope");
    assert_eq!(log[3]["token_id"], Value::Null);
    assert_eq!(log[3]["error"], "invalid_token");
    assert_eq!(log[4]["path"], "/api/orders");
    assert_eq!(log[4]["token_id"], json!(token_id("not-a-jwt")));
    assert_eq!(log[4]["sub"], Value::Null);
    assert_eq!(log[5]["status"], 404);

    // The same, in process; the admin calls themselves are not logged.
    assert_eq!(w.api.control().requests().len(), 6);
    let cleared = w
        .admin(reqwest::Method::DELETE, "/admin/requests", None)
        .await;
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    assert!(w.api.control().requests().is_empty());
}

#[tokio::test]
async fn faults_make_the_next_responses_fail_then_stop() {
    let w = world().await;
    let token = w.client_token(SERVICE, SERVICE_SECRET, "orders:read").await;
    let queued = w
        .admin(
            reqwest::Method::POST,
            "/admin/faults",
            Some(json!({"route": "orders", "count": 2, "fault": {"kind": "status", "status": 503, "body": "{\"error\": \"down\"}"}})),
        )
        .await;
    assert_eq!(queued.status(), StatusCode::NO_CONTENT);
    assert_eq!(w.get("/api/orders", Some(&token)).await.status(), 503);
    assert_eq!(
        w.get("/api/orders/1", Some(&token)).await.status(),
        404,
        "other routes unaffected"
    );
    assert_eq!(w.get("/api/orders", Some(&token)).await.status(), 503);
    assert_eq!(w.get("/api/orders", Some(&token)).await.status(), 200);
    let log = w.api.control().requests();
    assert_eq!(log[0].error.as_deref(), Some("injected_fault"));
    assert_eq!(log[0].token_id.as_deref(), Some(token_id(&token).as_str()));

    w.api
        .control()
        .push_fault(ApiRoute::Orders, standin::idp::Fault::MalformedJson, 1)
        .unwrap();
    let malformed = w.get("/api/orders", Some(&token)).await;
    assert_eq!(malformed.status(), 200);
    assert!(malformed.json::<Value>().await.is_err());

    w.admin(
        reqwest::Method::POST,
        "/admin/faults",
        Some(json!({"route": "order", "fault": {"kind": "delay", "delay_ms": 150}})),
    )
    .await;
    let started = Instant::now();
    assert_eq!(w.get("/api/orders/1001", Some(&token)).await.status(), 404);
    assert!(started.elapsed() >= Duration::from_millis(150));

    w.api
        .control()
        .push_fault(ApiRoute::Me, standin::idp::Fault::MalformedJson, 3)
        .unwrap();
    let cleared = w
        .admin(reqwest::Method::DELETE, "/admin/faults", None)
        .await;
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    assert_eq!(w.api.control().pending_faults(ApiRoute::Me), 0);

    for bad in [
        json!({"route": "token", "fault": {"kind": "malformed_json"}}),
        json!({"route": "me", "fault": {"kind": "status", "status": 42}}),
        json!({"route": "me", "count": 1000000000, "fault": {"kind": "malformed_json"}}),
        json!({"route": "me"}),
    ] {
        let response = w
            .admin(reqwest::Method::POST, "/admin/faults", Some(bad.clone()))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
    }
}

#[tokio::test]
async fn reset_brings_back_the_fixtures() {
    let w = world().await;
    let token = w
        .consumer_token("alice", "orders:read payments:write")
        .await;
    let body = json!({"order_id": "1003", "amount": "12.50"});
    assert_eq!(w.pay(&token, Some("k"), body.clone()).await.status(), 201);
    w.api
        .control()
        .push_fault(ApiRoute::Orders, standin::idp::Fault::MalformedJson, 5)
        .unwrap();
    let reset = w.admin(reqwest::Method::POST, "/admin/reset", None).await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert!(w.api.control().payments().is_empty());
    assert!(w.api.control().requests().is_empty());
    assert_eq!(w.api.control().pending_faults(ApiRoute::Orders), 0);
    assert_eq!(w.pay(&token, Some("k"), body).await.status(), 201);
    assert_eq!(w.get("/api/orders", Some(&token)).await.status(), 200);
}

#[tokio::test]
async fn consumers_can_be_added_at_run_time() {
    let w = world().await;
    w.idp
        .control()
        .add_user(
            serde_json::from_value(
                json!({"username": "carol", "password": "carol-password", "sub": "carol-sub"}),
            )
            .unwrap(),
        )
        .unwrap();
    let response = w
        .admin(
            reqwest::Method::POST,
            "/admin/consumers",
            Some(json!({
                "sub": "carol-sub",
                "profile": {"name": "Carol"},
                "orders": [{"id": "3001", "status": "shipped", "currency": "GBP", "total": "3.00"}],
            })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let token = w.consumer_token("carol", "profile orders:read").await;
    let me: Value = w.get("/api/me", Some(&token)).await.json().await.unwrap();
    assert_eq!(me, json!({"sub": "carol-sub", "name": "Carol"}));
    assert_eq!(w.get("/api/orders/3001", Some(&token)).await.status(), 200);
    let clash = w
        .admin(
            reqwest::Method::POST,
            "/admin/consumers",
            Some(json!({"sub": "dave", "orders": [{"id": "1001", "status": "x", "currency": "GBP", "total": "1"}]})),
        )
        .await;
    assert_eq!(clash.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn client_certificates_are_pinned_through_admin_and_bad_ones_refused() {
    let w = world().await;
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/mtls/other-server.pem"
    ))
    .unwrap();
    let response = w
        .admin(
            reqwest::Method::POST,
            "/admin/client-certificates",
            Some(json!({"certificate": pem, "sub": "carol-sub"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let pinned: Value = response.json().await.unwrap();
    assert_eq!(pinned["subject"], "CN=other-api.example");
    assert_eq!(pinned["sub"], "carol-sub");
    let listed: Value = w.admin_json("/admin/client-certificates").await;
    let subjects: Vec<&str> = listed["client_certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    // The default fixtures pin the documents' recipe certificate.
    assert_eq!(subjects, ["CN=cb-mtls", "CN=other-api.example"]);
    for bad in [
        json!({"certificate": "not PEM", "sub": "carol-sub"}),
        json!({"certificate": format!("{pem}{pem}"), "sub": "carol-sub"}),
        json!({"certificate": pem, "sub": ""}),
        json!({"certificate": pem}),
    ] {
        let response = w
            .admin(
                reqwest::Method::POST,
                "/admin/client-certificates",
                Some(bad.clone()),
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{body}");
    }
    // Reset: back to the fixtures' pins.
    w.admin(reqwest::Method::POST, "/admin/reset", None).await;
    let listed: Value = w.admin_json("/admin/client-certificates").await;
    assert_eq!(listed["client_certificates"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn unknown_paths_and_methods_get_json_errors() {
    let w = world().await;
    let response = w.get("/api/nothing", None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "not_found"
    );
    for (method, path) in [
        (reqwest::Method::DELETE, "/api/orders"),
        (reqwest::Method::POST, "/api/me"),
        (reqwest::Method::GET, "/api/payments"),
        (reqwest::Method::PUT, "/admin/requests"),
    ] {
        let response = w
            .http
            .request(method.clone(), w.api(path))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "method_not_allowed"
        );
    }
}

#[tokio::test]
async fn an_unreachable_idp_is_a_503_not_a_verdict_on_the_token() {
    let w = world().await;
    let token = w.client_token(SERVICE, SERVICE_SECRET, "orders:read").await;
    w.idp
        .control()
        .push_fault(
            standin::idp::Endpoint::Jwks,
            standin::idp::Fault::Status {
                status: 500,
                body: String::new(),
                content_type: "text/plain".into(),
            },
            1,
        )
        .unwrap();
    let (status, challenge, body) = refusal(w.get("/api/orders", Some(&token)).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(challenge.is_empty());
    assert_eq!(body["error"], "temporarily_unavailable");
    // The IdP is back: the next request fetches again.
    assert_eq!(w.get("/api/orders", Some(&token)).await.status(), 200);

    // An API whose issuer does not answer at all.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let api = MockBrandApi::start(dead).await.unwrap();
    let response = w
        .http
        .get(format!("{}/api/orders", api.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn the_admin_api_is_off_away_from_loopback() {
    let state = BrandApiState::new(
        "http://idp.test",
        "brand-api",
        Clock::new(),
        BrandApiFixtures::default_brand(),
        false,
    );
    let response = router(state)
        .oneshot(Request::get("/admin/requests").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), AxumStatus::FORBIDDEN);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The header parser never panics and only returns a b64token.
    #[test]
    fn the_bearer_parser_never_panics(value in ".{0,80}") {
        if let Ok(token) = parse_bearer(&value) {
            prop_assert!(!token.is_empty());
            prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)));
        }
    }

    /// Garbage in the Authorization header (any bytes a header may carry)
    /// is 401 invalid_token, never a 5xx.
    #[test]
    fn garbage_authorization_is_401(
        raw in proptest::collection::vec(any::<u8>(), 0..120),
        prefix in prop_oneof![Just(""), Just("Bearer "), Just("bearer "), Just("Basic ")],
    ) {
        let mut bytes = prefix.as_bytes().to_vec();
        bytes.extend(raw);
        let Ok(value) = axum::http::HeaderValue::from_bytes(&bytes) else {
            return Ok(());
        };
        let state = BrandApiState::new(
            "http://127.0.0.1:9",
            "brand-api",
            Clock::new(),
            BrandApiFixtures::default_brand(),
            true,
        );
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let response = runtime.block_on(
            router(state).oneshot(
                Request::get("/api/orders")
                    .header("authorization", value)
                    .body(Body::empty())
                    .unwrap(),
            ),
        ).unwrap();
        prop_assert_eq!(response.status(), AxumStatus::UNAUTHORIZED);
        prop_assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\""));
    }
}

/// Opaque access tokens (RFC 7662): with a client at the IdP, the API asks
/// the introspection endpoint discovery names, authenticating as that
/// endpoint's advertised methods allow, and judges the answer on its clock.
mod introspection {
    use super::*;
    use standin::brand_api::introspection::IntrospectionClient;
    use standin::secret::Secret;
    use wiremock::matchers::{body_string_contains, header_exists, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// An IdP that introspects: discovery advertising `methods`, and the
    /// answer `active` for the token `opaque-1` (anything else inactive).
    async fn idp(methods: Value, answer: Value) -> MockServer {
        let idp = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": idp.uri(),
                "jwks_uri": format!("{}/jwks", idp.uri()),
                "introspection_endpoint": format!("{}/introspect", idp.uri()),
                "introspection_endpoint_auth_methods_supported": methods,
            })))
            .mount(&idp)
            .await;
        Mock::given(method("POST"))
            .and(path("/introspect"))
            .and(body_string_contains("token=opaque-1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .mount(&idp)
            .await;
        Mock::given(method("POST"))
            .and(path("/introspect"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"active": false})))
            .mount(&idp)
            .await;
        idp
    }

    async fn api(idp: &MockServer, clock: Clock) -> MockBrandApi {
        let mut options = BrandApiOptions::new(idp.uri());
        options.clock = clock;
        options.introspection = Some(IntrospectionClient {
            client_id: "brand api".into(),
            client_secret: Secret::new("s3cret/+"),
        });
        MockBrandApi::start_with(options).await.unwrap()
    }

    async fn orders(api: &MockBrandApi, token: &str) -> (StatusCode, String) {
        let response = reqwest::Client::new()
            .get(format!("{}/api/orders", api.url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, challenge)
    }

    fn alice(exp: i64) -> Value {
        json!({"active": true, "sub": ALICE_SUB, "client_id": "bot", "scope": "openid orders:read", "exp": exp, "token_type": "Bearer"})
    }

    #[tokio::test]
    async fn an_active_opaque_token_serves_its_subject_until_exp_on_the_shared_clock() {
        let clock = Clock::new();
        let idp = idp(
            json!(["client_secret_basic", "client_secret_post"]),
            alice(clock.now().unix_secs() + 60),
        )
        .await;
        let api = api(&idp, clock.clone()).await;
        assert_eq!(orders(&api, "opaque-1").await.0, StatusCode::OK);
        let log = api.control().requests();
        assert_eq!(log[0].sub.as_deref(), Some(ALICE_SUB));
        // Basic, with the RFC 6749 2.3.1 form-encoded id and secret.
        let seen = idp.received_requests().await.unwrap();
        let introspect = seen.iter().find(|r| r.url.path() == "/introspect").unwrap();
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("brand+api:s3cret%2F%2B")
        );
        assert_eq!(
            introspect.headers.get("authorization").unwrap(),
            expected.as_str()
        );
        // The IdP still says active; the shared clock says expired.
        clock.advance(Duration::from_secs(60));
        let (status, challenge) = orders(&api, "opaque-1").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(challenge.contains("expired"), "{challenge}");
    }

    #[tokio::test]
    async fn an_inactive_token_is_401_and_the_body_carries_the_credentials_when_only_post_is_offered()
     {
        let idp = idp(json!(["client_secret_post"]), alice(i64::MAX / 2)).await;
        let api = api(&idp, Clock::new()).await;
        let (status, challenge) = orders(&api, "opaque-2").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(
            challenge.contains("invalid_token") && challenge.contains("not active"),
            "{challenge}"
        );
        let seen = idp.received_requests().await.unwrap();
        let introspect = seen.iter().find(|r| r.url.path() == "/introspect").unwrap();
        assert!(introspect.headers.get("authorization").is_none());
        let body = String::from_utf8_lossy(&introspect.body);
        assert!(
            body.contains("client_id=brand+api") && body.contains("client_secret="),
            "{body}"
        );
    }

    #[tokio::test]
    async fn an_introspection_endpoint_that_refuses_the_api_is_503_not_a_verdict_on_the_token() {
        let idp = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": idp.uri(),
                "introspection_endpoint": format!("{}/introspect", idp.uri()),
            })))
            .mount(&idp)
            .await;
        Mock::given(method("POST"))
            .and(path("/introspect"))
            .and(header_exists("authorization"))
            .respond_with(
                ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})),
            )
            .mount(&idp)
            .await;
        let api = api(&idp, Clock::new()).await;
        let (status, _) = orders(&api, "opaque-1").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }
}
