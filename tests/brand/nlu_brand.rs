//! Third-party NLU credentials on the brand side, end to end over HTTP: the
//! mock IdP's service accounts (RFC 7523 JWT bearer grant, the way Google
//! service accounts get tokens) and API keys (IBM Cloud IAM style), and the
//! mock NLU service's Dialogflow-like and Watson-like training endpoints
//! that take only those tokens.
//!
//! Decisions the tests pin down:
//! - every defect of an assertion is 400 `invalid_grant` with a description
//!   naming it; a missing `assertion` is `invalid_request`, a scope problem
//!   `invalid_scope`;
//! - a good token that may not train (another project, another kind of
//!   credential) is 403 `insufficient_scope`; a bad or expired one 401
//!   `invalid_token`;
//! - neither keys nor tokens appear in the NLU log, inspection or `Debug`.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use standin::clock::Clock;
use standin::idp::jwt_bearer::{self, verify_assertion};
use standin::idp::keys::KeySet;
use standin::idp::service_accounts::generate_rsa_key;
use standin::idp::state::Grant;
use standin::idp::{
    ApiKeyFile, Fixtures, IdpOptions, IdpState, MockIdp, NewApiKey, NewServiceAccount,
    ServiceAccountKeyFile, apikey, token_id,
};
use standin::nlu::{Engine, MockNlu, NluOptions};
use tower::ServiceExt as _;

const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

/// An IdP and an NLU service sharing one clock, and an HTTP client.
struct World {
    idp: MockIdp,
    nlu: MockNlu,
    http: reqwest::Client,
}

async fn world_with(fixtures: Fixtures) -> World {
    let clock = Clock::new();
    let idp = MockIdp::start_with(
        fixtures,
        IdpOptions {
            clock: clock.clone(),
            ..IdpOptions::default()
        },
    )
    .await
    .expect("IdP starts");
    let mut options = NluOptions::new(idp.issuer());
    options.clock = clock;
    let nlu = MockNlu::start_with(options).await.expect("NLU starts");
    World {
        idp,
        nlu,
        http: reqwest::Client::new(),
    }
}

async fn world() -> World {
    world_with(Fixtures::default_brand()).await
}

/// The claims a Google client library puts in an assertion.
fn google_claims(file: &ServiceAccountKeyFile, now: i64) -> Value {
    json!({
        "iss": file.client_email,
        "scope": CLOUD_PLATFORM,
        "aud": file.token_uri,
        "iat": now,
        "exp": now + 3600,
    })
}

fn rs256_header(kid: Option<&str>) -> Header {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(String::from);
    header
}

/// Sign `claims` with the key file's private key.
fn sign(file: &ServiceAccountKeyFile, header: &Header, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(file.private_key.expose().as_bytes()).expect("PKCS#8 PEM");
    jsonwebtoken::encode(header, claims, &key).expect("signs")
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

impl World {
    fn now(&self) -> i64 {
        self.idp.clock().now().unix_secs()
    }

    async fn admin_post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.idp.issuer()))
            .json(&body)
            .send()
            .await
            .expect("admin request")
    }

    /// A service account created over the admin API.
    async fn service_account(&self, project: &str) -> ServiceAccountKeyFile {
        let response = self
            .admin_post("/admin/service-accounts", json!({ "project_id": project }))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("key file JSON")
    }

    /// An API key created over the admin API.
    async fn api_key(&self, body: Value) -> ApiKeyFile {
        let response = self.admin_post("/admin/api-keys", body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("credentials JSON")
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}/token", self.idp.issuer()))
            .form(form)
            .send()
            .await
            .expect("token request")
    }

    async fn exchange(&self, assertion: &str) -> reqwest::Response {
        self.token_request(&[
            ("grant_type", jwt_bearer::GRANT_TYPE),
            ("assertion", assertion),
        ])
        .await
    }

    /// A Dialogflow token for a service account, through a Google-style assertion.
    async fn dialogflow_token(&self, file: &ServiceAccountKeyFile) -> String {
        let assertion = sign(
            file,
            &rs256_header(Some(&file.private_key_id)),
            &google_claims(file, self.now()),
        );
        let response = self.exchange(&assertion).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    /// A Watson token for an API key, exchanged at the key's `iam_url`.
    async fn watson_token(&self, key: &ApiKeyFile) -> String {
        let response = self
            .http
            .post(&key.iam_url)
            .form(&[
                ("grant_type", apikey::GRANT_TYPE),
                ("apikey", key.apikey.expose()),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    async fn post_nlu(&self, url: String, token: Option<&str>) -> reqwest::Response {
        let mut request = self.http.post(url).json(&json!({}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("NLU request")
    }

    async fn train_dialogflow(&self, project: &str, token: Option<&str>) -> reqwest::Response {
        self.post_nlu(
            format!("{}/v2/projects/{project}/agent:train", self.nlu.url()),
            token,
        )
        .await
    }

    async fn train_watson(&self, workspace: &str, token: Option<&str>) -> reqwest::Response {
        self.post_nlu(
            format!("{}/v1/workspaces/{workspace}/train", self.nlu.url()),
            token,
        )
        .await
    }
}

/// A refusal's status and `error`, with its description for messages.
async fn refusal(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("JSON error body");
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[tokio::test]
async fn a_service_account_trains_its_dialogflow_project() {
    let w = world().await;
    let file = w.service_account("travel-bot").await;
    assert_eq!(file.kind, "service_account");
    assert_eq!(file.project_id, "travel-bot");
    assert!(
        file.client_email
            .ends_with("@travel-bot.iam.gserviceaccount.com")
    );
    assert_eq!(file.token_uri, format!("{}/token", w.idp.issuer()));
    assert_eq!(file.private_key_id.len(), 40);
    assert_eq!(file.client_id.len(), 21);
    assert!(
        file.private_key
            .expose()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert!(
        !format!("{file:?}").contains("BEGIN PRIVATE KEY"),
        "Debug redacts the key"
    );

    let assertion = sign(
        &file,
        &rs256_header(Some(&file.private_key_id)),
        &google_claims(&file, w.now()),
    );
    let response = w.exchange(&assertion).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], CLOUD_PLATFORM);
    assert!(body.get("refresh_token").is_none());
    let token = body["access_token"].as_str().unwrap();

    // The token is a JWT of the IdP about the service account.
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], w.idp.issuer());
    assert_eq!(claims["sub"], file.client_email.as_str());
    assert_eq!(claims["aud"], standin::idp::NLU_AUDIENCE);
    assert_eq!(claims["project_id"], "travel-bot");
    assert_eq!(claims["client_id"], file.client_id.as_str());
    assert_eq!(claims["grant_type"], jwt_bearer::GRANT_TYPE);
    let grants = w.idp.control().grants();
    let view = grants.access_token(token).expect("inspection lists it");
    assert_eq!(view.grant, Grant::JwtBearer);
    assert_eq!(view.sub.as_deref(), Some(file.client_email.as_str()));

    let response = w.train_dialogflow("travel-bot", Some(token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "training");
    assert_eq!(body["project"], "travel-bot");
    assert_eq!(body["trained_by"], file.client_email.as_str());
    assert_eq!(body["done"], false);
    assert!(
        body["name"]
            .as_str()
            .unwrap()
            .starts_with("projects/travel-bot/operations/")
    );

    let log = w.nlu.control().requests();
    let entry = log.last().expect("logged");
    assert_eq!(entry.engine, Some(Engine::Dialogflow));
    assert_eq!(entry.target.as_deref(), Some("travel-bot"));
    assert_eq!(entry.sub.as_deref(), Some(file.client_email.as_str()));
    assert_eq!(entry.grant_type.as_deref(), Some(jwt_bearer::GRANT_TYPE));
    assert_eq!(entry.token_id.as_deref(), Some(token_id(token).as_str()));
    assert_eq!((entry.status, entry.error.as_deref()), (200, None));
    let over_http: Value = w
        .http
        .get(format!("{}/admin/requests", w.nlu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = over_http.to_string();
    assert!(text.contains(&token_id(token)));
    assert!(
        !text.contains(token),
        "the log holds token ids, never tokens"
    );
}

#[tokio::test]
async fn the_scope_comes_from_the_claim_or_the_parameter_within_the_accounts_scopes() {
    let w = world().await;
    let file = w.service_account("scopes").await;
    let header = rs256_header(Some(&file.private_key_id));
    let mut claims = google_claims(&file, w.now());
    claims.as_object_mut().unwrap().remove("scope");
    let no_scope = sign(&file, &header, &claims);

    let (status, error, _) = refusal(w.exchange(&no_scope).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_scope")
    );

    let dialogflow = "https://www.googleapis.com/auth/dialogflow";
    let response = w
        .token_request(&[
            ("grant_type", jwt_bearer::GRANT_TYPE),
            ("assertion", &no_scope),
            ("scope", dialogflow),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], dialogflow);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(
        w.train_dialogflow("scopes", Some(token)).await.status(),
        StatusCode::OK
    );

    claims["scope"] = json!(format!(
        "{CLOUD_PLATFORM} https://www.googleapis.com/auth/gmail"
    ));
    let wide = sign(&file, &header, &claims);
    let (_, error, description) = refusal(w.exchange(&wide).await).await;
    assert_eq!(error, "invalid_scope");
    assert!(description.contains("gmail"), "{description}");

    claims["scope"] = json!(CLOUD_PLATFORM);
    let with_claim = sign(&file, &header, &claims);
    let response = w
        .token_request(&[
            ("grant_type", jwt_bearer::GRANT_TYPE),
            ("assertion", &with_claim),
            ("scope", dialogflow),
        ])
        .await;
    let (_, error, _) = refusal(response).await;
    assert_eq!(error, "invalid_request", "claim and parameter disagree");

    let (_, error, description) = refusal(
        w.token_request(&[("grant_type", jwt_bearer::GRANT_TYPE)])
            .await,
    )
    .await;
    assert_eq!(error, "invalid_request");
    assert!(description.contains("assertion"), "{description}");
}

#[tokio::test]
async fn every_assertion_defect_is_invalid_grant_with_a_clear_description() {
    let w = world().await;
    let file = w.service_account("defects").await;
    let other = w.service_account("defects").await;
    let now = w.now();
    let good_header = rs256_header(Some(&file.private_key_id));
    let good = google_claims(&file, now);
    let with = |name: &str, value: Value| {
        let mut c = good.clone();
        c[name] = value;
        c
    };
    let without = |name: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(name);
        c
    };
    let public_pem = w
        .idp
        .control()
        .service_account(&file.client_email)
        .unwrap()
        .keys[0]
        .public_key
        .clone();
    let hmac = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(file.private_key_id.clone());
        jsonwebtoken::encode(
            &header,
            &good,
            &EncodingKey::from_secret(public_pem.as_bytes()),
        )
        .unwrap()
    };
    let rs384 = {
        let mut header = Header::new(Algorithm::RS384);
        header.kid = Some(file.private_key_id.clone());
        sign(&file, &header, &good)
    };
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&good)
    );
    let none_with_signature = format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(&json!({"alg": "none", "kid": file.private_key_id})),
        b64(&good)
    );
    let tampered = {
        let jwt = sign(&file, &good_header, &good);
        let parts: Vec<&str> = jwt.split('.').collect();
        let mut claims = good.clone();
        claims["scope"] = json!("https://www.googleapis.com/auth/dialogflow");
        format!("{}.{}.{}", parts[0], b64(&claims), parts[2])
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("not a JWT", "not-a-jwt".into(), "not a signed JWT"),
        ("four parts", "a.b.c.d".into(), "not a signed JWT"),
        ("header not JSON", "!!!.e30.c2ln".into(), "header"),
        ("payload not JSON", "e30.!!!.c2ln".into(), "payload"),
        (
            "unknown issuer",
            sign(
                &file,
                &good_header,
                &with("iss", json!("nobody@x.iam.gserviceaccount.com")),
            ),
            "not a known service account",
        ),
        (
            "no iss",
            sign(&file, &good_header, &without("iss")),
            "no iss",
        ),
        (
            "another account's signature",
            sign(&other, &good_header, &good),
            "signature does not verify",
        ),
        ("tampered payload", tampered, "signature does not verify"),
        (
            "unknown kid",
            sign(&file, &rs256_header(Some("0123456789")), &good),
            "kid",
        ),
        ("alg none, unsigned", unsigned, "alg none"),
        ("alg none with a signature", none_with_signature, "alg none"),
        ("HS256 with the public key", hmac, "RS256"),
        ("RS384", rs384, "RS256"),
        (
            "aud the issuer",
            sign(&file, &good_header, &with("aud", json!(w.idp.issuer()))),
            "aud",
        ),
        (
            "aud another token endpoint",
            sign(
                &file,
                &good_header,
                &with("aud", json!("https://oauth2.googleapis.com/token")),
            ),
            "aud",
        ),
        (
            "no aud",
            sign(&file, &good_header, &without("aud")),
            "no aud",
        ),
        (
            "expired",
            sign(
                &file,
                &good_header,
                &json!({
                    "iss": file.client_email, "scope": CLOUD_PLATFORM, "aud": file.token_uri,
                    "iat": now - 600, "exp": now - 120,
                }),
            ),
            "expired",
        ),
        (
            "no exp",
            sign(&file, &good_header, &without("exp")),
            "no exp",
        ),
        (
            "no iat",
            sign(&file, &good_header, &without("iat")),
            "no iat",
        ),
        (
            "exp two hours after iat",
            sign(&file, &good_header, &with("exp", json!(now + 7200))),
            "one hour",
        ),
        (
            "iat in the future",
            sign(
                &file,
                &good_header,
                &json!({
                    "iss": file.client_email, "scope": CLOUD_PLATFORM, "aud": file.token_uri,
                    "iat": now + 600, "exp": now + 1200,
                }),
            ),
            "future",
        ),
        (
            "nbf in the future",
            sign(&file, &good_header, &with("nbf", json!(now + 600))),
            "nbf",
        ),
        (
            "exp not a number",
            sign(&file, &good_header, &with("exp", json!("tomorrow"))),
            "malformed",
        ),
        (
            "sub another principal",
            sign(
                &file,
                &good_header,
                &with("sub", json!("alice@example.com")),
            ),
            "sub",
        ),
    ];
    for (name, assertion, expected) in cases {
        let (status, error, description) = refusal(w.exchange(&assertion).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}");
        assert_eq!(error, "invalid_grant", "{name}: {description}");
        assert!(
            description.contains(expected),
            "{name}: {description:?} should mention {expected:?}"
        );
    }

    // The same assertion without defects works; a sub equal to iss too;
    // no kid means every key of the account is tried.
    let fine = sign(&file, &good_header, &with("sub", json!(file.client_email)));
    assert_eq!(w.exchange(&fine).await.status(), StatusCode::OK);
    let no_kid = sign(&file, &rs256_header(None), &good);
    assert_eq!(w.exchange(&no_kid).await.status(), StatusCode::OK);

    // A deleted account's assertions are refused.
    let response = w
        .http
        .delete(format!(
            "{}/admin/service-accounts/{}",
            w.idp.issuer(),
            file.client_email
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (_, error, _) = refusal(w.exchange(&fine).await).await;
    assert_eq!(error, "invalid_grant");
}

#[tokio::test]
async fn an_assertion_expires_on_the_shared_clock() {
    let w = world().await;
    let file = w.service_account("clock").await;
    let assertion = sign(
        &file,
        &rs256_header(Some(&file.private_key_id)),
        &google_claims(&file, w.now()),
    );
    w.idp.control().advance_clock(Duration::from_secs(3700));
    let (_, error, description) = refusal(w.exchange(&assertion).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("expired"), "{description}");
}

#[tokio::test]
async fn a_token_of_another_project_or_engine_cannot_train() {
    let w = world().await;
    let ours = w.service_account("ours").await;
    let theirs = w.service_account("theirs").await;
    let token = w.dialogflow_token(&ours).await;

    let response = w.train_dialogflow("theirs", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.starts_with("Bearer realm=\"nlu\", error=\"insufficient_scope\""),
        "{challenge}"
    );
    let (_, error, description) = refusal(response).await;
    assert_eq!(error, "insufficient_scope");
    assert!(description.contains("project theirs"), "{description}");
    let entry = w.nlu.control().requests().pop().unwrap();
    assert_eq!(entry.target.as_deref(), Some("theirs"));
    assert_eq!(entry.sub.as_deref(), Some(ours.client_email.as_str()));
    assert_eq!(
        (entry.status, entry.error.as_deref()),
        (403, Some("insufficient_scope"))
    );

    let theirs_token = w.dialogflow_token(&theirs).await;
    assert_eq!(
        w.train_dialogflow("theirs", Some(&theirs_token))
            .await
            .status(),
        StatusCode::OK
    );
    // A service account's token is not a Watson credential.
    let (status, error, description) = refusal(w.train_watson("ws", Some(&token)).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
    assert!(description.contains("API key"), "{description}");
}

#[tokio::test]
async fn an_api_key_trains_a_watson_workspace() {
    let w = world().await;
    let instance = format!("{}/instances/inst-1", w.nlu.url());
    let key = w
        .api_key(json!({ "name": "watson-trainer", "url": instance }))
        .await;
    assert_eq!(key.url, instance);
    assert_eq!(key.iam_url, format!("{}/token", w.idp.issuer()));
    assert_eq!(key.iam_apikey_name, "watson-trainer");
    assert!(key.iam_id.starts_with("iam-ServiceId-"));
    assert!(!format!("{key:?}").contains(key.apikey.expose()));
    let default_url = w.api_key(json!({})).await;
    assert_eq!(default_url.url, default_url.iam_url);

    let now = w.now();
    let response = w
        .http
        .post(&key.iam_url)
        .header("accept", "application/json")
        .form(&[
            ("grant_type", apikey::GRANT_TYPE),
            ("apikey", key.apikey.expose()),
            ("response_type", "cloud_iam"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "ibm openid");
    let expiration = body["expiration"].as_i64().unwrap();
    assert!(
        (now + 3600..=now + 3602).contains(&expiration),
        "{expiration}"
    );
    let token = body["access_token"].as_str().unwrap();
    let view = w.idp.control().grants();
    let view = view.access_token(token).unwrap();
    assert_eq!(view.grant, Grant::ApiKey);
    assert_eq!(view.sub.as_deref(), Some(key.iam_id.as_str()));

    // Below the instance URL, and at the bare path.
    let response = w
        .post_nlu(format!("{}/v1/workspaces/ws-7/train", key.url), Some(token))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "status": "training", "workspace_id": "ws-7", "trained_by": key.iam_id })
    );
    assert_eq!(
        w.train_watson("ws-8", Some(token)).await.status(),
        StatusCode::OK
    );
    let entry = w.nlu.control().requests().pop().unwrap();
    assert_eq!(entry.engine, Some(Engine::Watson));
    assert_eq!(entry.target.as_deref(), Some("ws-8"));
    assert_eq!(entry.sub.as_deref(), Some(key.iam_id.as_str()));
    assert_eq!(entry.grant_type.as_deref(), Some(apikey::GRANT_TYPE));

    // An API key's token is not a Dialogflow credential.
    let (status, error, _) = refusal(w.train_dialogflow("any", Some(token)).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );

    // Neither the IdP's inspection nor the NLU log shows the key or the token.
    let inspection = w
        .http
        .get(format!("{}/admin/grants", w.idp.issuer()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!inspection.contains(key.apikey.expose()));
    assert!(!inspection.contains(token));
    let log = serde_json::to_string(&w.nlu.control().requests()).unwrap();
    assert!(!log.contains(token) && !log.contains(key.apikey.expose()));
}

#[tokio::test]
async fn unknown_missing_and_deleted_api_keys_get_no_token() {
    let w = world().await;
    let key = w.api_key(json!({})).await;
    let exchange = |apikey: String| {
        let w = &w;
        async move {
            let mut form = vec![("grant_type", apikey::GRANT_TYPE.to_string())];
            if !apikey.is_empty() {
                form.push(("apikey", apikey));
            }
            w.http
                .post(format!("{}/token", w.idp.issuer()))
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let response = exchange("not-a-key-of-this-idp-at-all".into()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "the RFC 6749 5.2 shape: {body}"
    );
    // One character off: found by neither hash nor comparison.
    let mut near = key.apikey.expose().to_string();
    let last = near.pop().unwrap();
    near.push(if last == 'A' { 'B' } else { 'A' });
    let (_, error, _) = refusal(exchange(near).await).await;
    assert_eq!(error, "invalid_grant");
    let (_, error, _) = refusal(exchange(String::new()).await).await;
    assert_eq!(error, "invalid_request");

    assert_eq!(
        w.http
            .delete(format!(
                "{}/admin/api-keys/{}",
                w.idp.issuer(),
                key.iam_apikey_id
            ))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    let (_, error, description) = refusal(exchange(key.apikey.expose().to_string()).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(
        description.contains("unknown or was deleted"),
        "{description}"
    );
    assert_eq!(
        w.http
            .delete(format!(
                "{}/admin/api-keys/{}",
                w.idp.issuer(),
                key.iam_apikey_id
            ))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn nlu_tokens_expire_on_the_shared_clock() {
    let w = world().await;
    let file = w.service_account("expiry").await;
    let key = w.api_key(json!({})).await;
    let dialogflow = w.dialogflow_token(&file).await;
    let watson = w.watson_token(&key).await;
    w.idp.control().advance_clock(Duration::from_secs(3600));
    for response in [
        w.train_dialogflow("expiry", Some(&dialogflow)).await,
        w.train_watson("ws", Some(&watson)).await,
    ] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            challenge.starts_with("Bearer realm=\"nlu\", error=\"invalid_token\""),
            "{challenge}"
        );
        let (_, error, description) = refusal(response).await;
        assert_eq!(error, "invalid_token");
        assert!(description.contains("expired"), "{description}");
    }
    // The log still names who the expired token was for.
    let entry = w.nlu.control().requests().swap_remove(0);
    assert_eq!(entry.sub.as_deref(), Some(file.client_email.as_str()));
    assert_eq!(entry.error.as_deref(), Some("invalid_token"));
    // A fresh token works again.
    let fresh = w.dialogflow_token(&file).await;
    assert_eq!(
        w.train_dialogflow("expiry", Some(&fresh)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn other_tokens_and_no_token_are_refused() {
    let w = world().await;
    // A client credentials token of the brand: its aud is the brand API.
    let response = w
        .http
        .post(format!("{}/token", w.idp.issuer()))
        .basic_auth("demo-service", Some("demo-service-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let brand = body["access_token"].as_str().unwrap();
    let (status, error, description) = refusal(w.train_dialogflow("p", Some(brand)).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    assert!(description.contains("aud"), "{description}");

    let response = w.train_watson("ws", None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    let (status, error, _) = refusal(w.train_watson("ws", Some("a.b.c")).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );

    // Unknown paths and methods answer JSON.
    let response = w
        .http
        .get(format!("{}/v1/workspaces/ws/train", w.nlu.url()))
        .send()
        .await
        .unwrap();
    let (status, error, _) = refusal(response).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let response = w
        .post_nlu(format!("{}/v3/nothing", w.nlu.url()), None)
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admin_requests_are_validated() {
    let w = world().await;
    for (path, body) in [
        ("/admin/service-accounts", json!({})),
        ("/admin/service-accounts", json!({ "project_id": "a/b" })),
        (
            "/admin/service-accounts",
            json!({ "project_id": "p", "account_id": "x y" }),
        ),
        (
            "/admin/service-accounts",
            json!({ "project_id": "p", "access_token_ttl_secs": 7200 }),
        ),
        (
            "/admin/service-accounts",
            json!({ "project_id": "p", "colour": "red" }),
        ),
        ("/admin/api-keys", json!({ "url": "not a url" })),
        ("/admin/api-keys", json!({ "access_token_ttl_secs": 0 })),
    ] {
        let (status, error, _) = refusal(w.admin_post(path, body.clone()).await).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{path} {body}"
        );
    }
    let named = json!({ "project_id": "p", "account_id": "trainer" });
    assert_eq!(
        w.admin_post("/admin/service-accounts", named.clone())
            .await
            .status(),
        StatusCode::CREATED
    );
    let (status, error, _) = refusal(w.admin_post("/admin/service-accounts", named).await).await;
    assert_eq!((status, error.as_str()), (StatusCode::CONFLICT, "conflict"));
}

#[tokio::test]
async fn fixture_credentials_work_and_survive_a_reset() {
    let (private_key, public_key) = generate_rsa_key().expect("key");
    let text = format!(
        r#"
[[clients]]
id = "unused"
secret = "unused-secret"
grant_types = ["client_credentials"]

[[service_accounts]]
client_email = "fixture@fixture-project.iam.gserviceaccount.com"
project_id = "fixture-project"
client_id = "100000000000000000042"

[[service_accounts.keys]]
private_key_id = "fixture-key-1"
public_key = """
{public_key}"""

[[api_keys]]
id = "ApiKey-fixture"
apikey = "fixture-api-key-0123456789"
iam_id = "iam-ServiceId-fixture"
"#
    );
    let mut fixtures = Fixtures::parse(&text, "nlu.toml").expect("fixtures parse");
    fixtures.keys = Fixtures::default_brand().keys;
    let w = world_with(fixtures).await;
    let file = ServiceAccountKeyFile {
        kind: "service_account".into(),
        project_id: "fixture-project".into(),
        private_key_id: "fixture-key-1".into(),
        private_key,
        client_email: "fixture@fixture-project.iam.gserviceaccount.com".into(),
        client_id: "100000000000000000042".into(),
        auth_uri: format!("{}/authorize", w.idp.issuer()),
        token_uri: format!("{}/token", w.idp.issuer()),
    };
    let created = w.service_account("created").await;
    w.idp.control().reset();
    let token = w.dialogflow_token(&file).await;
    assert_eq!(
        w.train_dialogflow("fixture-project", Some(&token))
            .await
            .status(),
        StatusCode::OK
    );
    let key = ApiKeyFile {
        apikey: standin::secret::Secret::new("fixture-api-key-0123456789"),
        url: w.nlu.url().to_string(),
        iam_url: format!("{}/token", w.idp.issuer()),
        iam_apikey_id: "ApiKey-fixture".into(),
        iam_apikey_name: String::new(),
        iam_id: "iam-ServiceId-fixture".into(),
    };
    let watson = w.watson_token(&key).await;
    assert_eq!(
        w.train_watson("ws", Some(&watson)).await.status(),
        StatusCode::OK
    );
    // What was created at run time is gone after the reset.
    let assertion = sign(
        &created,
        &rs256_header(Some(&created.private_key_id)),
        &google_claims(&created, w.now()),
    );
    let (_, error, _) = refusal(w.exchange(&assertion).await).await;
    assert_eq!(error, "invalid_grant");
}

#[test]
fn bad_fixture_entries_name_the_file_line_and_field() {
    let text = "[[service_accounts]]\nclient_email = \"a@p.iam.gserviceaccount.com\"\nproject_id = \"p\"\n\n[[service_accounts.keys]]\nprivate_key_id = \"k\"\npublic_key = \"not a key\"\n";
    let err = Fixtures::parse(text, "sa.toml").unwrap_err();
    assert!(
        err.message
            .contains("service_accounts[0] (a@p.iam.gserviceaccount.com).keys[0].public_key"),
        "{err}"
    );
    let text = "[[service_accounts]]\nclient_email = \"a@p\"\nproject_id = 7\nkeys = []\n";
    let err = Fixtures::parse(text, "sa.toml").unwrap_err();
    assert_eq!(err.line, 3, "{err}");
    assert!(
        err.message.contains("service_accounts[0].project_id"),
        "{err}"
    );
    let text = "[[api_keys]]\nid = \"k1\"\napikey = \"0123456789abcdef-1\"\niam_id = \"i1\"\n\n[[api_keys]]\nid = \"k1\"\napikey = \"0123456789abcdef-2\"\niam_id = \"i2\"\n";
    let err = Fixtures::parse(text, "k.toml").unwrap_err();
    assert!(err.message.starts_with("api_keys[1].id"), "{err}");
    assert_eq!(err.line, 7, "{err}");
    let text = "[[api_keys]]\nid = \"k1\"\napikey = \"short\"\niam_id = \"i1\"\n";
    let err = Fixtures::parse(text, "k.toml").unwrap_err();
    assert!(err.message.contains("api_keys[0] (k1).apikey"), "{err}");
    assert!(!err.to_string().contains("\"short\""), "{err}");
    assert_eq!(err.line, 3, "{err}");
}

#[test]
fn creating_a_service_account_is_fast_enough_for_tests() {
    let state = idp_state();
    let started = Instant::now();
    for i in 0..3 {
        state
            .create_service_account(NewServiceAccount::new(format!("speed-{i}")))
            .expect("created");
    }
    let each = started.elapsed() / 3;
    assert!(
        each < Duration::from_secs(2),
        "RSA key generation took {each:?}"
    );
    let key = state
        .create_api_key(NewApiKey {
            url: Some("http://nlu.test/instances/x/".into()),
            ..NewApiKey::default()
        })
        .expect("created");
    assert_eq!(key.url, "http://nlu.test/instances/x");
    assert_eq!(key.iam_url, "http://idp.test/token");
}

/// An in-process IdP state with one service account, for the properties.
fn idp_state() -> IdpState {
    let fixtures = Fixtures::default_brand();
    let keys = KeySet::new(fixtures.signing_keys().expect("fixture keys"));
    IdpState::new("http://idp.test".into(), Clock::new(), fixtures, keys, true)
}

fn shared_state() -> &'static (IdpState, ServiceAccountKeyFile) {
    static STATE: std::sync::OnceLock<(IdpState, ServiceAccountKeyFile)> =
        std::sync::OnceLock::new();
    STATE.get_or_init(|| {
        let state = idp_state();
        let file = state
            .create_service_account(NewServiceAccount::new("prop"))
            .expect("created");
        (state, file)
    })
}

/// Header and payload shapes an attacker might try: any algorithm name,
/// the known issuer or not, any kid, times anywhere.
fn forged_assertion() -> impl Strategy<Value = String> {
    let alg = prop_oneof![
        Just(json!("RS256")),
        Just(json!("none")),
        Just(json!("NONE")),
        Just(json!("HS256")),
        Just(json!("ES256")),
        Just(json!(null)),
        Just(json!(7)),
        "[A-Za-z0-9]{0,8}".prop_map(Value::from),
    ];
    let kid = prop_oneof![
        Just(None),
        Just(Some(json!(shared_state().1.private_key_id))),
        "[a-f0-9]{0,40}".prop_map(|k| Some(json!(k))),
        Just(Some(json!(12))),
    ];
    let iss = prop_oneof![
        Just(json!(shared_state().1.client_email)),
        ".{0,40}".prop_map(Value::from),
        Just(json!(null)),
        Just(json!(["a", "b"])),
    ];
    let time = prop_oneof![
        Just(json!(null)),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(json!("soon")),
    ];
    let signature = prop_oneof![Just(String::new()), "[A-Za-z0-9_-]{1,400}", ".{0,20}",];
    (alg, kid, iss, time.clone(), time, signature).prop_map(|(alg, kid, iss, iat, exp, sig)| {
        let mut header = json!({ "alg": alg, "typ": "JWT" });
        if let Some(kid) = kid {
            header["kid"] = kid;
        }
        let payload = json!({
            "iss": iss,
            "aud": "http://idp.test/token",
            "scope": CLOUD_PLATFORM,
            "iat": iat,
            "exp": exp,
        });
        format!("{}.{}.{sig}", b64(&header), b64(&payload))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary text never panics the validator and never passes it.
    #[test]
    fn arbitrary_assertions_are_refused(assertion in ".{0,600}", scope in proptest::option::of(".{0,40}")) {
        let (state, _) = shared_state();
        prop_assert!(verify_assertion(state, &assertion, scope.as_deref()).is_err());
    }

    /// Well-formed JWTs that were not signed by the account are refused,
    /// whatever their header and claims say.
    #[test]
    fn forged_assertions_are_refused(assertion in forged_assertion()) {
        let (state, _) = shared_state();
        let error = verify_assertion(state, &assertion, None).unwrap_err();
        prop_assert_eq!(error.code(), "invalid_grant", "{}", error);
    }

    /// Over the IdP's router, any assertion or API key posted gets a 400
    /// with an RFC 6749 5.2 code, never a token and never a 500.
    #[test]
    fn the_token_endpoint_answers_garbage_with_400(
        value in ".{0,300}",
        apikey_grant in any::<bool>(),
    ) {
        let (state, _) = shared_state();
        let (grant, param) = if apikey_grant {
            (apikey::GRANT_TYPE, "apikey")
        } else {
            (jwt_bearer::GRANT_TYPE, "assertion")
        };
        let body = serde_urlencoded::to_string([("grant_type", grant), (param, value.as_str())]).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (status, error) = runtime.block_on(async {
            let response = standin::idp::router(state.clone())
                .oneshot(
                    Request::post("/token")
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(Body::from(body))
                        .unwrap(),
                )
                .await
                .unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
            let json: Value = serde_json::from_slice(&bytes).unwrap();
            (status, json["error"].as_str().unwrap_or_default().to_string())
        });
        prop_assert_eq!(status.as_u16(), 400);
        prop_assert!(
            ["invalid_grant", "invalid_request", "invalid_scope"].contains(&error.as_str()),
            "{}", error
        );
    }
}

#[tokio::test]
async fn the_default_brand_has_a_demo_api_key() {
    let w = world().await;
    let key = ApiKeyFile {
        apikey: standin::secret::Secret::new("demo-watson-apikey-0123456789"),
        url: w.nlu.url().to_string(),
        iam_url: format!("{}/token", w.idp.issuer()),
        iam_apikey_id: "ApiKey-demo".into(),
        iam_apikey_name: "demo-watson".into(),
        iam_id: "iam-ServiceId-demo".into(),
    };
    let token = w.watson_token(&key).await;
    let response = w.train_watson("demo-workspace", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["trained_by"], "iam-ServiceId-demo");
}
