//! The brand side's other credentials, over real HTTP and TLS: the brand
//! API's mutual-TLS listener and `/mtls/orders`, HTTP Basic on
//! `/basic/orders`, a static token under its configured scheme on
//! `/static/orders`, and the IdP's RFC 8705 `tls_client_auth` with
//! certificate-bound access tokens that the brand API accepts only with the
//! same certificate.
//!
//! Certificates are issued at run time from one CA per test binary; the
//! IdP and the brand API trust it for client certificates and present a
//! server certificate from it. A refused handshake surfaces on the client
//! as one of several errors (alert, reset, broken pipe), so those tests
//! assert that the call failed, not how.

use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::WWW_AUTHENTICATE;
use reqwest::{Certificate, Identity, StatusCode};
use serde_json::{Value, json};
use standin::brand_api::{BrandApiFixtures, BrandApiOptions, MockBrandApi};
use standin::clock::Clock;
use standin::idp::{Fixtures, IdpOptions, MockIdp, token_id};
use standin::pki::{Ca, Issued, Validity};
use standin::tls::{TlsSettings, x5t_s256};

const ALICE_SUB: &str = "c0ffee00-a11c-4e00-8000-000000000001";
const BOB_SUB: &str = "c0ffee00-b0b0-4e00-8000-000000000002";
const BASIC_USER: &str = "brand-partner";
const BASIC_PASSWORD: &str = "brand-partner-password";
const STATIC_TOKEN: &str = "brand-static-token";
const MTLS_CLIENT: &str = "mtls-bot";

/// The test CA, and server TLS settings from it.
struct TestPki {
    ca: Ca,
    tls: TlsSettings,
}

fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let (tls, ca) = TlsSettings::generate("brand TLS test CA").expect("CA");
        TestPki { ca, tls }
    })
}

fn now() -> standin::clock::Instant {
    Clock::new().now()
}

/// A client certificate from the test CA, valid a day from now.
fn client_cert(subject: &str) -> Issued {
    pki()
        .ca
        .issue_client(subject, Validity::days_from(now(), 1))
        .expect("client certificate")
}

/// An HTTP client trusting only the test CA, presenting `identity` if any.
fn https(identity: Option<&Issued>) -> reqwest::Client {
    standin::tls::install_crypto_provider();
    let ca = Certificate::from_der(pki().ca.cert_der()).expect("CA certificate");
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([ca])
        .redirect(reqwest::redirect::Policy::none());
    if let Some(issued) = identity {
        let pem = issued.key_pem() + &issued.chain_pem();
        builder = builder.identity(Identity::from_pem(pem.as_bytes()).expect("identity"));
    }
    builder.build().expect("HTTP client")
}

/// An IdP listening also over TLS and a brand API with its mTLS listener,
/// sharing one clock and one CA.
struct World {
    idp: MockIdp,
    api: MockBrandApi,
    http: reqwest::Client,
}

async fn world_with(fixtures: BrandApiFixtures) -> World {
    let clock = Clock::new();
    let idp = MockIdp::start_with_tls(
        Fixtures::default_brand(),
        IdpOptions {
            clock: clock.clone(),
            ..IdpOptions::default()
        },
        Some(pki().tls.clone()),
    )
    .await
    .expect("IdP starts");
    let mut options = BrandApiOptions::new(idp.issuer());
    options.clock = clock;
    options.fixtures = fixtures;
    options.tls = Some(pki().tls.clone());
    let api = MockBrandApi::start_with(options).await.expect("API starts");
    World {
        idp,
        api,
        http: reqwest::Client::new(),
    }
}

async fn world() -> World {
    world_with(BrandApiFixtures::default_brand()).await
}

impl World {
    fn api(&self, path: &str) -> String {
        format!("{}{path}", self.api.url())
    }

    fn mtls_api(&self, path: &str) -> String {
        format!("{}{path}", self.api.mtls_url().expect("mTLS listener"))
    }

    /// The brand API's request log as its admin API shows it.
    async fn log_text(&self) -> String {
        self.http
            .get(self.api("/admin/requests"))
            .send()
            .await
            .expect("log")
            .text()
            .await
            .expect("log body")
    }

    fn last_request(&self) -> standin::brand_api::RequestLogEntry {
        self.api
            .control()
            .requests()
            .pop()
            .expect("a logged request")
    }

    /// Register the `tls_client_auth` client through the IdP's admin API.
    async fn register_mtls_client(&self, subject_dn: &str) {
        let response = self
            .http
            .post(format!("{}/admin/clients", self.idp.issuer()))
            .json(&json!({
                "id": MTLS_CLIENT,
                "token_endpoint_auth_method": "tls_client_auth",
                "tls_client_auth_subject_dn": subject_dn,
                "grant_types": ["client_credentials"],
                "scopes": ["orders:read"],
            }))
            .send()
            .await
            .expect("add client");
        assert_eq!(response.status(), StatusCode::CREATED);
    }

    /// A client credentials request of the `tls_client_auth` client.
    async fn mtls_token(&self, client: &reqwest::Client, endpoint: &str) -> reqwest::Response {
        client
            .post(endpoint)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", MTLS_CLIENT),
            ])
            .send()
            .await
            .expect("token request")
    }

    /// Introspection by the secret-holding demo service.
    async fn introspect(&self, token: &str) -> Value {
        self.http
            .post(format!("{}/introspect", self.idp.issuer()))
            .basic_auth("demo-service", Some("demo-service-secret"))
            .form(&[("token", token)])
            .send()
            .await
            .expect("introspection")
            .json()
            .await
            .expect("introspection JSON")
    }
}

fn order_ids(body: &Value) -> Vec<&str> {
    body["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| o["id"].as_str().expect("order id"))
        .collect()
}

fn challenge(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(WWW_AUTHENTICATE)
        .expect("WWW-Authenticate")
        .to_str()
        .expect("ASCII challenge")
        .to_string()
}

/// The claims of a JWT, unverified (the brand API verifies them).
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

#[tokio::test]
async fn the_mtls_route_names_the_certificate_and_answers_its_consumers_orders() {
    let w = world().await;
    let url = w.api.mtls_url().expect("mTLS listener").to_string();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    let cert = client_cert("standin-client");
    let response = https(Some(&cert))
        .get(w.mtls_api("/mtls/orders"))
        .send()
        .await
        .expect("mTLS call");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["client_certificate"]["subject"], "CN=standin-client");
    assert_eq!(body["client_certificate"]["common_name"], "standin-client");
    assert_eq!(
        body["client_certificate"]["x5t#S256"],
        x5t_s256(cert.cert_der())
    );
    assert_eq!(body["sub"], ALICE_SUB);
    assert_eq!(order_ids(&body), ["1001", "1002", "1003"]);
    let logged = w.last_request();
    assert_eq!(logged.path, "/mtls/orders");
    assert_eq!(logged.client_cert.as_deref(), Some("CN=standin-client"));
    assert_eq!(logged.sub.as_deref(), Some(ALICE_SUB));
    assert_eq!(logged.status, 200);

    // A good certificate of a subject the API does not map: 403.
    let response = https(Some(&client_cert("stranger")))
        .get(w.mtls_api("/mtls/orders"))
        .send()
        .await
        .expect("mTLS call");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], "access_denied");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("CN=stranger")
    );

    // The same route over plain HTTP has no certificate to go by.
    let response = w
        .http
        .get(w.api("/mtls/orders"))
        .send()
        .await
        .expect("plain call");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], "certificate_required");
}

#[tokio::test]
async fn the_mtls_listener_refuses_missing_foreign_and_expired_certificates() {
    let w = world().await;
    let url = w.mtls_api("/mtls/orders");

    let no_cert = https(None).get(&url).send().await;
    assert!(no_cert.is_err(), "no certificate: {no_cert:?}");

    let foreign = Ca::generate("someone else's CA")
        .unwrap()
        .issue_client("standin-client", Validity::days_from(now(), 1))
        .unwrap();
    let result = https(Some(&foreign)).get(&url).send().await;
    assert!(result.is_err(), "foreign CA: {result:?}");

    let expired = pki()
        .ca
        .issue_client("standin-client", Validity::expired_at(now()))
        .unwrap();
    let result = https(Some(&expired)).get(&url).send().await;
    assert!(result.is_err(), "expired: {result:?}");
    assert!(
        w.api.control().requests().is_empty(),
        "refused handshakes never reach HTTP"
    );

    // Expiry is judged on the shared clock: a certificate valid for a day
    // is refused once the clock has moved two days on.
    let cert = client_cert("standin-client");
    let ok = https(Some(&cert)).get(&url).send().await.expect("valid");
    assert_eq!(ok.status(), StatusCode::OK);
    w.idp.clock().advance(Duration::from_secs(2 * 24 * 3600));
    let result = https(Some(&cert)).get(&url).send().await;
    assert!(result.is_err(), "expired on the shared clock: {result:?}");
}

#[tokio::test]
async fn basic_credentials_are_checked_and_only_the_user_name_is_logged() {
    let w = world().await;
    let url = w.api("/basic/orders");

    let response = w
        .http
        .get(&url)
        .basic_auth(BASIC_USER, Some(BASIC_PASSWORD))
        .send()
        .await
        .expect("call");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["username"], BASIC_USER);
    assert_eq!(body["sub"], ALICE_SUB);
    assert_eq!(order_ids(&body), ["1001", "1002", "1003"]);
    let logged = w.last_request();
    assert_eq!(logged.scheme.as_deref(), Some("Basic"));
    assert_eq!(logged.basic_user.as_deref(), Some(BASIC_USER));
    assert_eq!(logged.token_id, None);
    assert_eq!(logged.sub.as_deref(), Some(ALICE_SUB));

    let missing = w.http.get(&url).send().await.expect("call");
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert!(
        challenge(&missing).starts_with("Basic realm=\"brand-api\""),
        "{}",
        challenge(&missing)
    );
    let body: Value = missing.json().await.expect("JSON");
    assert_eq!(body["error"], "credentials_required");

    for (user, password) in [
        (BASIC_USER, "wrong-password"),
        ("someone", BASIC_PASSWORD),
        (BASIC_USER, ""),
    ] {
        let wrong = w
            .http
            .get(&url)
            .basic_auth(user, Some(password))
            .send()
            .await
            .expect("call");
        assert_eq!(
            wrong.status(),
            StatusCode::UNAUTHORIZED,
            "{user}:{password}"
        );
        assert!(challenge(&wrong).starts_with("Basic realm=\"brand-api\""));
        let body: Value = wrong.json().await.expect("JSON");
        assert_eq!(body["error"], "invalid_credentials");
    }

    // A bearer token is not Basic credentials.
    let bearer = w
        .http
        .get(&url)
        .bearer_auth("abc")
        .send()
        .await
        .expect("call");
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);

    let log = w.log_text().await;
    assert!(log.contains(BASIC_USER));
    assert!(!log.contains(BASIC_PASSWORD), "the password was logged");
    assert!(!log.contains("wrong-password"), "a password was logged");
}

#[tokio::test]
async fn a_static_token_is_accepted_only_under_its_configured_type() {
    let w = world().await;
    let url = w.api("/static/orders");
    let send = |value: String| {
        let request = w.http.get(&url).header("authorization", value);
        async move { request.send().await.expect("call") }
    };

    let response = send(format!("Token {STATIC_TOKEN}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["token_type"], "Token");
    assert_eq!(body["sub"], BOB_SUB);
    assert_eq!(order_ids(&body), ["2001", "2002"]);
    let logged = w.last_request();
    assert_eq!(logged.scheme.as_deref(), Some("Token"));
    assert_eq!(logged.token_id, Some(token_id(STATIC_TOKEN)));
    assert_eq!(logged.sub.as_deref(), Some(BOB_SUB));

    // RFC 7235: the scheme is case-insensitive.
    let response = send(format!("token {STATIC_TOKEN}")).await;
    assert_eq!(response.status(), StatusCode::OK);

    // The right token under the wrong type.
    let response = send(format!("Bearer {STATIC_TOKEN}")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&response), "Token realm=\"brand-api\"");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], "invalid_token_type");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("Authorization: Token <token>")
    );
    assert_eq!(w.last_request().scheme.as_deref(), Some("Bearer"));

    // The right type with a wrong token.
    let response = send("Token not-the-token".into()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&response), "Token realm=\"brand-api\"");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], "invalid_token");

    let response = w.http.get(&url).send().await.expect("call");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], "credentials_required");

    assert!(
        !w.log_text().await.contains(STATIC_TOKEN),
        "the token was logged"
    );
}

#[tokio::test]
async fn the_static_token_type_comes_from_the_fixtures() {
    let fixtures = BrandApiFixtures::from_toml(
        "[[static_tokens]]\ntype = \"ApiKey\"\ntoken = \"k-123\"\nsub = \"c0ffee00-b0b0-4e00-8000-000000000002\"\n",
        "test fixtures",
    )
    .expect("fixtures");
    let w = world_with(fixtures).await;
    let url = w.api("/static/orders");
    let ok = w
        .http
        .get(&url)
        .header("authorization", "ApiKey k-123")
        .send()
        .await
        .expect("call");
    assert_eq!(ok.status(), StatusCode::OK);
    let refused = w
        .http
        .get(&url)
        .header("authorization", "Token k-123")
        .send()
        .await
        .expect("call");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&refused), "ApiKey realm=\"brand-api\"");
}

#[tokio::test]
async fn discovery_advertises_the_mtls_endpoints() {
    let w = world().await;
    let doc: Value = w
        .http
        .get(format!(
            "{}/.well-known/openid-configuration",
            w.idp.issuer()
        ))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("JSON");
    let mtls = w.idp.mtls_url().expect("TLS listener");
    assert!(mtls.starts_with("https://127.0.0.1:"), "{mtls}");
    assert_eq!(doc["issuer"], w.idp.issuer(), "the issuer stays the same");
    assert_eq!(
        doc["mtls_endpoint_aliases"]["token_endpoint"],
        w.idp.mtls_token_endpoint().unwrap()
    );
    assert_eq!(
        doc["mtls_endpoint_aliases"]["introspection_endpoint"],
        format!("{mtls}/introspect")
    );
    assert_eq!(doc["tls_client_certificate_bound_access_tokens"], true);
    let methods = doc["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&json!("tls_client_auth")), "{methods:?}");

    // The same document over TLS, without a client certificate.
    let over_tls: Value = https(None)
        .get(format!("{mtls}/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery over TLS")
        .json()
        .await
        .expect("JSON");
    assert_eq!(over_tls, doc);

    // An IdP without TLS advertises none of it.
    let plain = MockIdp::start(Fixtures::default_brand()).await.unwrap();
    let doc: Value = w
        .http
        .get(format!(
            "{}/.well-known/openid-configuration",
            plain.issuer()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc.get("mtls_endpoint_aliases").is_none());
    assert!(
        !doc["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("tls_client_auth"))
    );
}

#[tokio::test]
async fn tls_client_auth_binds_the_token_to_the_certificate_the_api_then_requires() {
    let w = world().await;
    w.register_mtls_client("CN=mtls-bot").await;
    let cert = client_cert(MTLS_CLIENT);
    let with_cert = https(Some(&cert));
    let endpoint = w.idp.mtls_token_endpoint().unwrap();

    let response = w.mtls_token(&with_cert, &endpoint).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("token JSON");
    let token = body["access_token"].as_str().expect("access_token");
    let thumbprint = x5t_s256(cert.cert_der());
    assert_eq!(claims(token)["cnf"]["x5t#S256"], thumbprint);
    assert_eq!(claims(token)["client_id"], MTLS_CLIENT);

    let introspected = w.introspect(token).await;
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["cnf"]["x5t#S256"], thumbprint);

    // The brand API over mTLS with the same certificate: accepted.
    let response = with_cert
        .get(w.mtls_api("/api/orders"))
        .bearer_auth(token)
        .send()
        .await
        .expect("API call");
    assert_eq!(response.status(), StatusCode::OK);
    let logged = w.last_request();
    assert_eq!(
        logged.client_id.as_ref().map(|c| c.as_str()),
        Some(MTLS_CLIENT)
    );
    assert_eq!(logged.client_cert.as_deref(), Some("CN=mtls-bot"));
    assert_eq!(logged.token_id, Some(token_id(token)));

    // Another certificate of the same subject and CA: refused.
    let other = https(Some(&client_cert(MTLS_CLIENT)));
    let response = other
        .get(w.mtls_api("/api/orders"))
        .bearer_auth(token)
        .send()
        .await
        .expect("API call");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).contains("error=\"invalid_token\""));
    let body: Value = response.json().await.expect("JSON");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("another client certificate"),
        "{body}"
    );

    // Over plain HTTP there is no certificate at all: refused.
    let response = w
        .http
        .get(w.api("/api/orders"))
        .bearer_auth(token)
        .send()
        .await
        .expect("API call");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], "invalid_token");

    // The IdP's own userinfo holds to the binding too: without the
    // certificate the token is invalid; with it, it passes the binding and
    // fails only for want of `openid`.
    let userinfo = format!("{}/userinfo", w.idp.issuer());
    let response = w
        .http
        .get(&userinfo)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = with_cert
        .get(format!("{}/userinfo", w.idp.mtls_url().unwrap()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Revocation at the mTLS alias, authenticated by the certificate.
    let response = with_cert
        .post(format!("{}/revoke", w.idp.mtls_url().unwrap()))
        .form(&[("client_id", MTLS_CLIENT), ("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(w.introspect(token).await["active"], false);
}

#[tokio::test]
async fn tls_client_auth_refuses_a_wrong_or_missing_certificate() {
    let w = world().await;
    w.register_mtls_client("CN=mtls-bot").await;
    let endpoint = w.idp.mtls_token_endpoint().unwrap();

    // A certificate from the right CA with another subject.
    let response = w
        .mtls_token(&https(Some(&client_cert("someone-else"))), &endpoint)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("subject")
    );

    // Over TLS without a certificate (the IdP only asks for one).
    let response = w.mtls_token(&https(None), &endpoint).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], "invalid_client");

    // At the plain token endpoint.
    let response = w
        .mtls_token(&w.http, &format!("{}/token", w.idp.issuer()))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], "invalid_client");

    // A certificate of a foreign CA fails the handshake, even though
    // certificates are optional there.
    let foreign = Ca::generate("someone else's CA")
        .unwrap()
        .issue_client(MTLS_CLIENT, Validity::days_from(now(), 1))
        .unwrap();
    let result = https(Some(&foreign))
        .post(&endpoint)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", MTLS_CLIENT),
        ])
        .send()
        .await;
    assert!(result.is_err(), "foreign CA: {result:?}");

    assert!(
        w.idp.control().grants().access_tokens.is_empty(),
        "no token was issued"
    );
}

#[tokio::test]
async fn a_tls_client_auth_registration_is_checked_by_the_admin_api() {
    let w = world().await;
    let response = w
        .http
        .post(format!("{}/admin/clients", w.idp.issuer()))
        .json(&json!({
            "id": "no-dn",
            "token_endpoint_auth_method": "tls_client_auth",
            "grant_types": ["client_credentials"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("tls_client_auth_subject_dn"),
        "{body}"
    );
}

#[tokio::test]
async fn the_default_brand_has_a_tls_client_auth_client_for_the_standin_certificate() {
    let w = world().await;
    let cert = client_cert("standin-client");
    let response = https(Some(&cert))
        .post(w.idp.mtls_token_endpoint().unwrap())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "demo-mtls"),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("token JSON");
    let token = body["access_token"].as_str().expect("access_token");
    assert_eq!(claims(token)["cnf"]["x5t#S256"], x5t_s256(cert.cert_der()));
}
