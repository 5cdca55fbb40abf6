//! Robustness of the mock IdP against what a hostile or broken client can
//! send, in-process through `standin::idp::router` and
//! `tower::ServiceExt::oneshot` (no sockets, so hundreds of cases run in
//! well under a second per property).
//!
//! - (a) `/token`: random and malformed bodies, content types and
//!   Authorization headers never cause a 5xx; every error is an RFC 6749 5.2
//!   JSON error with a clean `error_description`, never cached.
//! - (b) `/authorize`: random and mutated requests never cause a 5xx and
//!   never send the browser anywhere but a registered redirect URI of the
//!   named client; error redirects carry the `state` that was sent.
//! - (c) `/userinfo` and `/introspect`: garbage tokens are `invalid_token`
//!   (RFC 6750 3.1) and `{"active": false}` (RFC 7662 2.2).
//! - (d) the parsers behind them never panic and only speak RFC codes.
//! - (e) forged access tokens (alg none, HMAC keyed with the public key,
//!   unknown kid, wrong key under a real kid, expired) are refused.

use std::collections::HashSet;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::{Value, json};
use standin::idp::http::Params;
use standin::idp::keys::{SigningAlg, SigningKey};
use standin::idp::token::TokenRequest;
use standin::idp::{ClientConfig, IdpState, router};
use tower::ServiceExt as _;

use crate::common::{
    ALICE, ALICE_PASSWORD, ALICE_SUB, TOKEN_ERRORS, first_form, idp_state, set_cookie_value,
};

const ISSUER: &str = "http://idp.test";
const DEMO_CALLBACK: &str = "http://127.0.0.1:8400/demo/callback";
const BOT_SECRET: &str = "demo-bot-secret";
/// A runtime client with two redirect URIs, one carrying its own query.
const MULTI: &str = "rp-multi";
const MULTI_REDIRECTS: [&str; 2] = ["https://rp.example/cb?tenant=a", "https://rp.example/other"];
/// A PKCE challenge of the right shape (RFC 7636 appendix B).
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// Authorization error codes: RFC 6749 4.1.2.1 and OIDC Core 3.1.2.6.
const AUTHORIZE_ERRORS: [&str; 13] = [
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
];

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One in-process IdP and the runtime that drives it.
struct Env {
    rt: tokio::runtime::Runtime,
    state: IdpState,
    app: Router,
}

/// A response, read whole.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Env {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let state = idp_state(ISSUER);
        let multi: ClientConfig = serde_json::from_value(json!({
            "id": MULTI,
            "secret": "rp-multi-secret",
            "redirect_uris": MULTI_REDIRECTS,
            "scopes": ["openid", "profile"],
            "consent": true,
        }))
        .expect("client config");
        state.add_client(multi).expect("client added");
        let app = router(state.clone());
        Env { rt, state, app }
    }

    fn call(&self, request: Request<Body>) -> Reply {
        self.rt.block_on(async {
            let response = self.app.clone().oneshot(request).await.expect("infallible");
            let (parts, body) = response.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX)
                .await
                .expect("body reads");
            Reply {
                status: parts.status,
                headers: parts.headers,
                body,
            }
        })
    }

    fn get(&self, path_and_query: &str, cookie: Option<&str>) -> Reply {
        let mut b = Request::builder().method(Method::GET).uri(path_and_query);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.call(b.body(Body::empty()).expect("request"))
    }

    fn post_form(
        &self,
        path: &str,
        pairs: &[(&str, &str)],
        headers: &[(header::HeaderName, &str)],
    ) -> Reply {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (name, value) in headers {
            b = b.header(name, *value);
        }
        self.call(b.body(Body::from(encode(pairs))).expect("request"))
    }

    /// Sign alice in through the login form of `authorize_query`; returns
    /// the session cookie and the final response (consent page or redirect).
    fn sign_in(&self, authorize_query: &str) -> (String, Reply) {
        let page = self.get(&format!("/authorize?{authorize_query}"), None);
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let csrf_cookie = set_cookie_value(&page.headers, "standin_csrf").expect("csrf cookie");
        let form = first_form(&page.text()).expect("login form");
        assert_eq!(form.action, "/login");
        let reply = self.post_form(
            "/login",
            &[
                ("txn", &form.inputs["txn"]),
                ("csrf", &form.inputs["csrf"]),
                ("username", ALICE),
                ("password", ALICE_PASSWORD),
            ],
            &[(header::COOKIE, &format!("standin_csrf={csrf_cookie}"))],
        );
        let session = set_cookie_value(&reply.headers, "standin_session").expect("session cookie");
        (format!("standin_session={session}"), reply)
    }

    /// A real RS256 access token for alice via demo-bot (code flow with consent).
    fn real_access_token(&self) -> String {
        let query = encode(&[
            ("client_id", "demo-bot"),
            ("redirect_uri", DEMO_CALLBACK),
            ("response_type", "code"),
            ("scope", "openid profile email"),
            ("state", "s1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]);
        let (session, consent) = self.sign_in(&query);
        assert_eq!(
            consent.status,
            StatusCode::OK,
            "consent page expected: {}",
            consent.text()
        );
        let csrf = set_cookie_value(&consent.headers, "standin_csrf").expect("csrf cookie");
        let form = first_form(&consent.text()).expect("consent form");
        assert_eq!(form.action, "/consent");
        let cookies = format!("{session}; standin_csrf={csrf}");
        let done = self.post_form(
            "/consent",
            &[
                ("txn", &form.inputs["txn"]),
                ("csrf", &form.inputs["csrf"]),
                ("decision", "allow"),
            ],
            &[(header::COOKIE, &cookies)],
        );
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        let location =
            url::Url::parse(done.header(header::LOCATION).expect("Location")).expect("URL");
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .expect("code")
            .1
            .into_owned();
        let reply = self.post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", DEMO_CALLBACK),
                ("code_verifier", VERIFIER),
            ],
            &[(header::AUTHORIZATION, &basic("demo-bot", BOT_SECRET))],
        );
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json().expect("JSON")["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    fn redirect_uris(&self, client_id: &str) -> Option<Vec<String>> {
        self.state
            .store()
            .clients
            .get(client_id)
            .map(|c| c.redirect_uris.clone())
    }
}

fn encode(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// RFC 6749 5.2: `error_description` is %x20-21 / %x23-5B / %x5D-7E.
fn clean_description(d: &str) -> bool {
    d.chars()
        .all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// Awkward strings: unicode, controls, quotes, backslashes, markup.
fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => ".{0,40}",
        1 => "[\\x00-\\x1f\"\\\\<>&=%+;]{0,20}",
        1 => Just("\"><script>alert(1)</script>".to_string()),
        1 => Just("a\r\nSet-Cookie: x=y".to_string()),
        1 => Just("%FF%FE%00".to_string()),
        1 => Just(String::new()),
    ]
}

/// A value a token request parameter might plausibly (or implausibly) have.
fn token_value() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(vec![
            "authorization_code", "refresh_token", "client_credentials", "password",
            "urn:ietf:params:oauth:grant-type:jwt-bearer", "demo-bot", "demo-spa", "demo-service",
            "demo-bot-secret", "demo-service-secret", "wrong-secret", DEMO_CALLBACK, VERIFIER,
            "openid", "orders:read payments:write", "delegated.token.read.external admin",
        ]).prop_map(String::from),
        2 => nasty_string(),
        1 => (1usize..2_000).prop_map(|n| "A".repeat(n)),
    ]
}

fn token_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "grant_type", "code", "redirect_uri", "code_verifier", "client_id", "client_secret",
            "refresh_token", "scope", "client_assertion", "access_token",
        ]).prop_map(String::from),
        1 => nasty_string(),
    ]
}

/// Bodies stay below the IdP's 64 KiB limit here; the limit itself has its
/// own test (`an_oversized_token_request_gets_an_oauth_error_not_a_bare_status`).
const HUGE: usize = 60 * 1024;

/// A request body: raw bytes, a proper form, a form joined without
/// encoding, invalid UTF-8 in an otherwise plausible form, or a plausible
/// form with one huge value.
fn token_body() -> impl Strategy<Value = Vec<u8>> {
    let pairs = || prop::collection::vec((token_key(), token_value()), 0..8);
    prop_oneof![
        1 => (pairs(), token_key(), 1usize..HUGE).prop_map(|(p, key, n)| {
            let mut refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let huge = "A".repeat(n);
            refs.insert(refs.len() / 2, (key.as_str(), huge.as_str()));
            let mut body = encode(&refs).into_bytes();
            body.truncate(HUGE);
            body
        }),
        1 => prop::collection::vec(any::<u8>(), 0..300),
        3 => pairs().prop_map(|p| {
            let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            encode(&refs).into_bytes()
        }),
        1 => pairs().prop_map(|p| {
            p.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&").into_bytes()
        }),
        1 => (prop::collection::vec(any::<u8>(), 1..20)).prop_map(|junk| {
            let mut body = b"grant_type=client_credentials&client_id=demo-service&client_secret=".to_vec();
            body.extend(junk.iter().map(|b| b | 0x80));
            body
        }),
    ]
}

/// Any bytes a header value may hold: visible ASCII, space, tab, obs-text.
fn header_value_bytes(max: usize) -> impl Strategy<Value = HeaderValue> {
    let byte = prop_oneof![8 => 0x20u8..0x7f, 2 => 0x80u8..=0xff, 1 => Just(b'\t')];
    prop::collection::vec(byte, 0..max)
        .prop_map(|b| HeaderValue::from_bytes(&b).expect("header value bytes"))
}

fn content_type() -> impl Strategy<Value = Option<HeaderValue>> {
    prop_oneof![
        4 => Just(Some(HeaderValue::from_static("application/x-www-form-urlencoded"))),
        1 => prop::sample::select(vec![
            "application/x-www-form-urlencoded; charset=UTF-8",
            "APPLICATION/X-WWW-FORM-URLENCODED",
            "application/x-www-form-urlencoded;charset=ISO-8859-1",
            "application/json",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencodedX",
            "",
        ]).prop_map(|s| Some(HeaderValue::from_static(s))),
        1 => header_value_bytes(40).prop_map(Some),
        1 => Just(None),
    ]
}

fn authorization() -> impl Strategy<Value = Option<HeaderValue>> {
    let b64 = |bytes: Vec<u8>| STANDARD.encode(bytes);
    prop_oneof![
        3 => Just(None),
        1 => prop::sample::select(vec![
            basic("demo-bot", BOT_SECRET),
            basic("demo-service", "demo-service-secret"),
            basic("demo-bot", "wrong"),
            basic("demo-spa", ""),
            basic("nobody", "x"),
            "Basic".to_string(),
            "Basic ".to_string(),
            "Basic !!!not-base64!!!".to_string(),
            "basic ZGVtby1ib3Q6ZGVtby1ib3Qtc2VjcmV0".to_string(),
            "Bearer abc".to_string(),
            "Digest username=\"x\"".to_string(),
        ]).prop_map(|s| Some(HeaderValue::from_str(&s).expect("header"))),
        1 => prop::collection::vec(any::<u8>(), 0..40)
            .prop_map(move |b| Some(HeaderValue::from_str(&format!("Basic {}", b64(b))).expect("header"))),
        1 => header_value_bytes(60).prop_map(Some),
    ]
}

#[derive(Clone)]
struct RawRequest {
    content_type: Option<HeaderValue>,
    authorization: Option<HeaderValue>,
    body: Vec<u8>,
}

impl std::fmt::Debug for RawRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = String::from_utf8_lossy(&self.body[..self.body.len().min(300)]).into_owned();
        f.debug_struct("RawRequest")
            .field("content_type", &self.content_type)
            .field("authorization", &self.authorization)
            .field("body_len", &self.body.len())
            .field("body_start", &shown)
            .finish()
    }
}

impl RawRequest {
    fn to_request(&self, method: Method, path: &str) -> Request<Body> {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(ct) = &self.content_type {
            b = b.header(header::CONTENT_TYPE, ct.clone());
        }
        if let Some(a) = &self.authorization {
            b = b.header(header::AUTHORIZATION, a.clone());
        }
        b.body(Body::from(self.body.clone())).expect("request")
    }
}

/// A request that gets past parsing and client authentication, so the
/// grant logic answers: a known client, Basic or POST credentials, one of
/// the grant types (or an unknown one), then a few random extra pairs.
fn plausible_request() -> impl Strategy<Value = RawRequest> {
    let client = prop::sample::select(vec![
        ("demo-bot", Some(BOT_SECRET)),
        ("demo-service", Some("demo-service-secret")),
        ("demo-service", Some("demo-service-secret")),
        ("demo-spa", None),
    ]);
    let grant = prop::sample::select(vec![
        vec![
            ("grant_type", "authorization_code"),
            ("code", "made-up-code"),
            ("redirect_uri", DEMO_CALLBACK),
        ],
        vec![
            ("grant_type", "authorization_code"),
            ("code", "made-up-code"),
            ("code_verifier", VERIFIER),
        ],
        vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", "made-up-refresh-token"),
        ],
        vec![("grant_type", "client_credentials")],
        vec![
            ("grant_type", "client_credentials"),
            ("scope", "orders:read"),
        ],
        vec![
            ("grant_type", "client_credentials"),
            ("scope", "orders:read admin"),
        ],
        vec![("grant_type", "client_credentials"), ("scope", "openid")],
        vec![
            ("grant_type", "client_credentials"),
            ("scope", "payments:write"),
        ],
        vec![
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
        ],
    ]);
    let extra = prop_oneof![
        Just(vec![]),
        prop::collection::vec((token_key(), token_value()), 1..3),
    ];
    (client, any::<bool>(), grant, extra).prop_map(|((id, secret), use_basic, grant, extra)| {
        let mut pairs: Vec<(String, String)> = grant
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut authorization = None;
        match secret {
            Some(secret) if use_basic => {
                authorization = Some(HeaderValue::from_str(&basic(id, secret)).expect("header"));
            }
            Some(secret) => {
                pairs.push(("client_id".into(), id.into()));
                pairs.push(("client_secret".into(), secret.into()));
            }
            None => pairs.push(("client_id".into(), id.into())),
        }
        pairs.extend(extra);
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        RawRequest {
            content_type: Some(HeaderValue::from_static(
                "application/x-www-form-urlencoded",
            )),
            authorization,
            body: encode(&refs).into_bytes(),
        }
    })
}

fn raw_request() -> impl Strategy<Value = RawRequest> {
    let random = (content_type(), authorization(), token_body()).prop_map(
        |(content_type, authorization, body)| RawRequest {
            content_type,
            authorization,
            body,
        },
    );
    prop_oneof![2 => random, 3 => plausible_request()]
}

/// The checks every token endpoint error must pass (RFC 6749 5.1, 5.2).
fn check_token_error(reply: &Reply, allowed: &[&str]) -> Result<(), TestCaseError> {
    let json = reply.json().map_err(TestCaseError::fail)?;
    let error = json["error"].as_str().unwrap_or_default();
    prop_assert!(
        allowed.contains(&error),
        "error {error:?} not in {allowed:?}: {json}"
    );
    if let Some(d) = json.get("error_description") {
        let d = d.as_str().unwrap_or("\u{0}not a string");
        prop_assert!(
            clean_description(d),
            "error_description {d:?} has characters RFC 6749 5.2 forbids"
        );
    }
    prop_assert!(
        reply
            .header(header::CONTENT_TYPE)
            .is_some_and(|c| c.starts_with("application/json")),
        "content type {:?}",
        reply.header(header::CONTENT_TYPE)
    );
    prop_assert!(
        reply
            .header(header::CACHE_CONTROL)
            .is_some_and(|c| c.contains("no-store")),
        "no Cache-Control: no-store"
    );
    if reply.status == StatusCode::UNAUTHORIZED {
        prop_assert_eq!(error, "invalid_client");
        prop_assert!(
            reply.headers.contains_key(header::WWW_AUTHENTICATE),
            "401 without WWW-Authenticate (RFC 6749 5.2)"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// (a) /token
// ---------------------------------------------------------------------------

#[test]
fn token_endpoint_answers_any_request_with_an_rfc_6749_error_or_a_token() {
    let env = Env::new();
    let seen = std::cell::RefCell::new(HashSet::new());
    proptest!(config(256), |(req in raw_request())| {
        let reply = env.call(req.to_request(Method::POST, "/token"));
        prop_assert!(!reply.status.is_server_error(), "5xx: {} {}", reply.status, reply.text());
        let error = reply.json().ok().and_then(|j| j["error"].as_str().map(String::from));
        seen.borrow_mut().insert(error.unwrap_or_else(|| reply.status.to_string()));
        match reply.status {
            StatusCode::OK => {
                prop_assert!(reply.header(header::CACHE_CONTROL).is_some_and(|c| c.contains("no-store")));
                let json = reply.json().map_err(TestCaseError::fail)?;
                prop_assert!(json["access_token"].is_string(), "{json}");
                prop_assert_eq!(json["token_type"].as_str(), Some("Bearer"));
            }
            StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED => check_token_error(&reply, &TOKEN_ERRORS)?,
            other => prop_assert!(false, "unexpected status {other}: {}", reply.text()),
        }
    });
    // The generator reaches every branch: each RFC error and a success.
    let seen = seen.into_inner();
    for outcome in TOKEN_ERRORS.iter().copied().chain(["200 OK"]) {
        assert!(seen.contains(outcome), "never saw {outcome}: {seen:?}");
    }
}

#[test]
fn an_oversized_token_request_gets_an_oauth_error_not_a_bare_status() {
    // Above the IdP's 64 KiB body limit: refusing is right, but the refusal
    // is still a token endpoint error response (RFC 6749 5.2).
    let env = Env::new();
    let body = format!(
        "grant_type=authorization_code&code={}",
        "A".repeat(70 * 1024)
    );
    let reply = env.call(
        Request::builder()
            .method(Method::POST)
            .uri("/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request"),
    );
    assert!(reply.status.is_client_error(), "{}", reply.status);
    check_token_error(&reply, &TOKEN_ERRORS)
        .unwrap_or_else(|e| panic!("{} {}: {e}", reply.status, reply.text()));
}

#[test]
fn wrong_methods_at_the_token_endpoint_are_405_with_a_json_error_and_allow() {
    let env = Env::new();
    for method in [Method::GET, Method::PUT, Method::DELETE, Method::PATCH] {
        let reply = env.call(
            Request::builder()
                .method(method.clone())
                .uri("/token")
                .body(Body::empty())
                .unwrap(),
        );
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        let json = reply.json().unwrap();
        assert_eq!(json["error"], "invalid_request", "{method}: {json}");
        // RFC 9110 15.5.6: a 405 MUST list the allowed methods.
        let allow = reply.header(header::ALLOW).unwrap_or_default();
        assert!(allow.contains("POST"), "{method}: Allow header {allow:?}");
    }
}

// ---------------------------------------------------------------------------
// (b) /authorize
// ---------------------------------------------------------------------------

/// Changes applied to a valid authorization request.
#[derive(Debug, Clone)]
enum Mutation {
    Drop(usize),
    Duplicate(usize),
    Replace(usize, String),
    Add(String, String),
    Swap(usize, usize),
}

fn authorize_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "demo-bot", "demo-spa", "demo-service", MULTI, "unknown-client", "DEMO-BOT",
            DEMO_CALLBACK, MULTI_REDIRECTS[0], MULTI_REDIRECTS[1],
            "http://127.0.0.1:8400/demo/callback/", "http://127.0.0.1:8400/demo/callbackx",
            "http://127.0.0.1:8400/demo/callback?x=1", "http://127.0.0.1:8400/demo/callback#f",
            "http://127.0.0.1:8401/demo/callback", "https://127.0.0.1:8400/demo/callback",
            "HTTP://127.0.0.1:8400/demo/callback", "http://127.0.0.1:8400/demo/%63allback",
            "http://127.0.0.1:8400/demo/callback/../callback", "https://evil.example/",
            "https://rp.example/cb", "https://rp.example/cb?tenant=b", "https://rp.example/cb?tenant=a&x=1",
            "//evil.example", "javascript:alert(1)",
            "code", "token", "id_token", "code id_token", "none",
            "openid", "openid profile", "openid admin", "", " ",
            "S256", "plain", "s256", CHALLENGE, "short",
            "none", "login", "consent", "select_account", "none login",
            "0", "-1", "99999999999999999999", "abc", "alice",
        ]).prop_map(String::from),
        2 => nasty_string(),
    ]
}

fn authorize_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
            "code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint",
            "response_mode", "request", "request_uri",
        ]).prop_map(String::from),
        1 => nasty_string(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => (0usize..10).prop_map(Mutation::Drop),
        2 => (0usize..10).prop_map(Mutation::Duplicate),
        3 => (0usize..10, authorize_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        2 => (authorize_key(), authorize_value()).prop_map(|(k, v)| Mutation::Add(k, v)),
        1 => (0usize..10, 0usize..10).prop_map(|(a, b)| Mutation::Swap(a, b)),
    ]
}

/// A valid request for one of the clients, as pairs.
fn base_request(client: usize, state: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(&str, &str)> = match client {
        0 => vec![
            ("client_id", "demo-bot"),
            ("redirect_uri", DEMO_CALLBACK),
            ("scope", "openid profile"),
        ],
        1 => vec![("client_id", "demo-spa"), ("scope", "openid email")],
        2 => vec![
            ("client_id", MULTI),
            ("redirect_uri", MULTI_REDIRECTS[0]),
            ("scope", "openid"),
        ],
        _ => vec![("client_id", "demo-service"), ("scope", "orders:read")],
    };
    pairs.extend([
        ("response_type", "code"),
        ("state", state),
        ("nonce", "n-0S6_WzA2Mj"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[derive(Debug, Clone)]
struct AuthorizeCase {
    pairs: Vec<(String, String)>,
    /// Send as a form POST instead of a GET query.
    post: bool,
    /// Carry alice's signed-in session cookie.
    signed_in: bool,
    /// A raw query string instead of `pairs` (GET only).
    raw: Option<String>,
}

fn authorize_case() -> impl Strategy<Value = AuthorizeCase> {
    let mutated = (
        0usize..4,
        nasty_string(),
        prop::collection::vec(mutation(), 0..5),
    )
        .prop_map(|(client, state, ms)| {
            let mut pairs = base_request(client, &state);
            for m in ms {
                let n = pairs.len();
                match m {
                    Mutation::Drop(i) if n > 0 => {
                        pairs.remove(i % n);
                    }
                    Mutation::Duplicate(i) if n > 0 => {
                        let p = pairs[i % n].clone();
                        pairs.push(p);
                    }
                    Mutation::Replace(i, v) if n > 0 => pairs[i % n].1 = v,
                    Mutation::Add(k, v) => pairs.push((k, v)),
                    Mutation::Swap(a, b) if n > 0 => pairs.swap(a % n, b % n),
                    _ => {}
                }
            }
            pairs
        });
    let random_pairs = prop::collection::vec((authorize_key(), authorize_value()), 0..10);
    let pairs = prop_oneof![4 => mutated, 1 => random_pairs];
    let raw = prop_oneof![
        6 => Just(None),
        1 => "[A-Za-z0-9._~!$&'()*+,;=:@/?%-]{0,200}".prop_map(Some),
    ];
    (pairs, any::<bool>(), any::<bool>(), raw).prop_map(|(pairs, post, signed_in, raw)| {
        AuthorizeCase {
            pairs,
            post,
            signed_in,
            raw: if post { None } else { raw },
        }
    })
}

/// Non-empty values of `name` (RFC 6749 3.1: empty means absent).
fn sent_values(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect()
}

fn check_authorize(env: &Env, case: &AuthorizeCase, reply: &Reply) -> Result<(), TestCaseError> {
    prop_assert!(
        !reply.status.is_server_error(),
        "5xx: {} {}",
        reply.status,
        reply.text()
    );
    // What the IdP actually received, as pairs.
    let pairs: Vec<(String, String)> = match &case.raw {
        Some(q) => Params::parse(q.as_bytes()).pairs().to_vec(),
        None => case.pairs.clone(),
    };
    match reply.status {
        StatusCode::OK | StatusCode::BAD_REQUEST => {
            prop_assert!(
                reply
                    .header(header::CONTENT_TYPE)
                    .is_some_and(|c| c.starts_with("text/html")),
                "{} not HTML",
                reply.status
            );
            prop_assert!(reply.header(header::LOCATION).is_none());
            let html = reply.text();
            prop_assert!(
                !html.to_ascii_lowercase().contains("<script"),
                "unescaped input reflected: {html}"
            );
            prop_assert_eq!(reply.header(header::X_FRAME_OPTIONS), Some("DENY"));
            if reply.status == StatusCode::OK {
                let form = first_form(&html);
                prop_assert!(
                    form.as_ref()
                        .is_some_and(|f| f.action == "/login" || f.action == "/consent"),
                    "200 without a login or consent form: {html}"
                );
            } else {
                prop_assert!(
                    html.contains("id=\"error-code\""),
                    "400 is not the IdP's error page: {html}"
                );
            }
        }
        StatusCode::SEE_OTHER => {
            let location = reply.header(header::LOCATION).unwrap_or_default();
            let clients = sent_values(&pairs, "client_id");
            prop_assert_eq!(clients.len(), 1, "redirected with client_id {:?}", clients);
            let registered = env.redirect_uris(&clients[0]).unwrap_or_default();
            // The target is a registered URI followed by the response's query.
            let target = registered.iter().find(|r| {
                let sep = if r.contains('?') { '&' } else { '?' };
                location
                    .strip_prefix(r.as_str())
                    .is_some_and(|rest| rest.starts_with(sep))
            });
            prop_assert!(
                target.is_some(),
                "redirected to {location}, not to one of {registered:?}"
            );
            let asked = sent_values(&pairs, "redirect_uri");
            if let [asked] = asked.as_slice() {
                prop_assert_eq!(
                    target.map(String::as_str),
                    Some(asked.as_str()),
                    "not the redirect_uri asked for"
                );
            }
            let url = url::Url::parse(location)
                .map_err(|e| TestCaseError::fail(format!("{location}: {e}")))?;
            let got: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let count = |n: &str| got.iter().filter(|(k, _)| k == n).count();
            let value = |n: &str| got.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
            prop_assert_eq!(count("iss"), 1, "iss (RFC 9207): {}", location);
            prop_assert_eq!(value("iss"), Some(ISSUER.to_string()));
            prop_assert!(
                count("error") + count("code") == 1,
                "exactly one of code or error: {location}"
            );
            if let Some(error) = value("error") {
                prop_assert!(AUTHORIZE_ERRORS.contains(&error.as_str()), "error {error}");
                let d = value("error_description").unwrap_or_default();
                prop_assert!(clean_description(&d), "error_description {d:?}");
            }
            let states = sent_values(&pairs, "state");
            match states.as_slice() {
                [] => prop_assert_eq!(count("state"), 0, "state invented: {}", location),
                [one] => {
                    prop_assert_eq!(count("state"), 1, "state not echoed: {}", location);
                    prop_assert_eq!(value("state"), Some(one.clone()), "state changed");
                }
                many => prop_assert!(
                    count("state") == 0 || value("state").is_some_and(|s| many.contains(&s)),
                    "state {:?} was never sent",
                    value("state")
                ),
            }
        }
        other => prop_assert!(false, "unexpected status {other}: {}", reply.text()),
    }
    Ok(())
}

#[test]
fn authorize_never_redirects_outside_the_registered_uris_and_echoes_state() {
    let env = Env::new();
    // A signed-in session for half of the cases: reaches consent and codes.
    let spa = encode(&[
        ("client_id", "demo-spa"),
        ("response_type", "code"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let (session, signed_in) = env.sign_in(&spa);
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.text()
    );
    let seen = std::cell::RefCell::new(HashSet::new());
    proptest!(config(256), |(case in authorize_case())| {
        let cookie = case.signed_in.then_some(session.as_str());
        let reply = if case.post {
            let refs: Vec<(&str, &str)> = case.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let mut headers = vec![];
            if let Some(c) = cookie {
                headers.push((header::COOKIE, c));
            }
            env.post_form("/authorize", &refs, &headers)
        } else {
            let query = match &case.raw {
                Some(q) => q.clone(),
                None => {
                    let refs: Vec<(&str, &str)> = case.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    encode(&refs)
                }
            };
            env.get(&format!("/authorize?{query}"), cookie)
        };
        seen.borrow_mut().insert(reply.status);
        check_authorize(&env, &case, &reply)?;
    });
    // The generator reaches every kind of answer, not just the error page.
    let seen = seen.into_inner();
    for status in [
        StatusCode::OK,
        StatusCode::BAD_REQUEST,
        StatusCode::SEE_OTHER,
    ] {
        assert!(seen.contains(&status), "no {status} among {seen:?}");
    }
}

// ---------------------------------------------------------------------------
// (c) /userinfo and /introspect
// ---------------------------------------------------------------------------

/// RFC 6750 2.1 b64token.
fn b64token() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => "[A-Za-z0-9._~+/-]{1,200}=*",
        // JWT-shaped: three base64url segments, the first a JSON header.
        2 => (
            prop::sample::select(vec![
                r#"{"alg":"none"}"#, r#"{"alg":"RS256"}"#, r#"{"alg":"HS256","kid":"x"}"#,
                r#"{"alg":"ES256","kid":"../../etc/passwd"}"#, r#"{"alg":"RS256","kid":""}"#, "{", "null", "[]",
            ]),
            "[A-Za-z0-9_-]{0,80}",
            "[A-Za-z0-9_-]{0,120}",
        ).prop_map(|(h, p, s)| format!("{}.{p}.{s}", URL_SAFE_NO_PAD.encode(h))),
    ]
}

#[derive(Debug, Clone)]
enum BearerCase {
    /// `Authorization: Bearer <garbage>` (GET or POST).
    Header { token: String, post: bool },
    /// `access_token=<garbage>` in a form POST.
    Body { token: String },
    /// Anything else: other schemes, junk headers, two methods at once.
    Malformed { req: RawRequest, post: bool },
}

fn bearer_case() -> impl Strategy<Value = BearerCase> {
    prop_oneof![
        3 => (b64token(), any::<bool>()).prop_map(|(token, post)| BearerCase::Header { token, post }),
        1 => b64token().prop_map(|token| BearerCase::Body { token }),
        2 => (raw_request(), any::<bool>()).prop_map(|(mut req, post)| {
            if req.authorization.is_none() {
                req.authorization = Some(HeaderValue::from_static("Bearer"));
            }
            BearerCase::Malformed { req, post }
        }),
    ]
}

fn check_invalid_token(reply: &Reply) -> Result<(), TestCaseError> {
    prop_assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    let challenge = reply.header(header::WWW_AUTHENTICATE).unwrap_or_default();
    prop_assert!(
        challenge.starts_with("Bearer"),
        "WWW-Authenticate {challenge:?}"
    );
    prop_assert!(
        challenge.contains("error=\"invalid_token\""),
        "WWW-Authenticate {challenge:?}"
    );
    Ok(())
}

#[test]
fn userinfo_refuses_garbage_tokens_with_invalid_token() {
    let env = Env::new();
    proptest!(config(256), |(case in bearer_case())| {
        let reply = match &case {
            BearerCase::Header { token, post } => {
                let method = if *post { Method::POST } else { Method::GET };
                env.call(
                    Request::builder()
                        .method(method)
                        .uri("/userinfo")
                        .header(header::AUTHORIZATION, format!("Bearer {token}"))
                        .body(Body::empty())
                        .expect("request"),
                )
            }
            BearerCase::Body { token } => env.post_form("/userinfo", &[("access_token", token)], &[]),
            BearerCase::Malformed { req, post } => {
                env.call(req.to_request(if *post { Method::POST } else { Method::GET }, "/userinfo"))
            }
        };
        prop_assert!(!reply.status.is_server_error(), "5xx: {} {}", reply.status, reply.text());
        match &case {
            BearerCase::Header { .. } | BearerCase::Body { .. } => check_invalid_token(&reply)?,
            BearerCase::Malformed { .. } => {
                prop_assert!(
                    matches!(reply.status, StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED),
                    "{} {}", reply.status, reply.text()
                );
                if reply.status == StatusCode::UNAUTHORIZED {
                    let challenge = reply.header(header::WWW_AUTHENTICATE).unwrap_or_default();
                    prop_assert!(challenge.starts_with("Bearer"), "WWW-Authenticate {challenge:?}");
                } else {
                    let json = reply.json().map_err(TestCaseError::fail)?;
                    prop_assert_eq!(json["error"].as_str(), Some("invalid_request"));
                }
            }
        }
    });
}

#[test]
fn introspection_never_fails_and_garbage_tokens_are_inactive() {
    let env = Env::new();
    proptest!(config(192), |(token in b64token(), req in raw_request())| {
        // An authenticated client asking about a garbage token: inactive.
        let reply = env.post_form(
            "/introspect",
            &[("token", &token)],
            &[(header::AUTHORIZATION, &basic("demo-bot", BOT_SECRET))],
        );
        prop_assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        prop_assert_eq!(reply.json().map_err(TestCaseError::fail)?, json!({ "active": false }));

        // Anything at all: a JSON answer, never a 5xx.
        let reply = env.call(req.to_request(Method::POST, "/introspect"));
        prop_assert!(!reply.status.is_server_error(), "5xx: {} {}", reply.status, reply.text());
        match reply.status {
            StatusCode::OK => prop_assert!(reply.json().map_err(TestCaseError::fail)?["active"].is_boolean()),
            StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED => check_token_error(&reply, &TOKEN_ERRORS)?,
            other => prop_assert!(false, "unexpected status {other}: {}", reply.text()),
        }
    });
}

// ---------------------------------------------------------------------------
// (d) parsers
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn params_parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let params = Params::parse(&bytes);
        for (k, _) in params.pairs() {
            let _ = params.get(k);
        }
    }

    #[test]
    fn params_round_trip_and_notice_repeats(pairs in prop::collection::vec(("[a-c]{1,2}", ".{0,12}"), 0..8)) {
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let params = Params::parse(encode(&refs).as_bytes());
        prop_assert_eq!(params.pairs(), pairs.as_slice());
        for (name, _) in &pairs {
            let values = sent_values(&pairs, name);
            match params.get(name) {
                Ok(None) => prop_assert!(values.is_empty()),
                Ok(Some(v)) => prop_assert_eq!(values, vec![v.to_string()]),
                Err(_) => prop_assert!(values.len() > 1),
            }
        }
    }

    #[test]
    fn token_request_parses_or_names_an_rfc_code(pairs in prop::collection::vec((token_key(), token_value()), 0..8)) {
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let params = Params::parse(encode(&refs).as_bytes());
        match TokenRequest::from_params(&params) {
            Ok(_) => prop_assert_eq!(sent_values(&pairs, "grant_type").len(), 1),
            Err(e) => {
                prop_assert!(TOKEN_ERRORS.contains(&e.code()), "{}", e.code());
                if sent_values(&pairs, "grant_type").len() != 1 {
                    prop_assert_eq!(e.code(), "invalid_request");
                }
            }
        }
    }

    #[test]
    fn token_request_from_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Err(e) = TokenRequest::from_params(&Params::parse(&bytes)) {
            prop_assert!(TOKEN_ERRORS.contains(&e.code()), "{}", e.code());
        }
    }
}

// ---------------------------------------------------------------------------
// (e) forged tokens
// ---------------------------------------------------------------------------

/// JWS compact serialisation of `header` and the (already encoded) payload.
fn jws(header: &Value, payload: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{payload}", URL_SAFE_NO_PAD.encode(header.to_string()));
    let signature = sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn hs256(secret: &[u8], message: &[u8]) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    aws_lc_rs::hmac::sign(&key, message).as_ref().to_vec()
}

/// The RS256 fixture key's public half as SubjectPublicKeyInfo DER and PEM.
fn rs256_public_key() -> (Vec<u8>, String) {
    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::signature::KeyPair as _;
    use rustls_pki_types::PrivatePkcs8KeyDer;
    use rustls_pki_types::pem::PemObject as _;
    let pem = include_bytes!("../../fixtures/keys/rs256.pem");
    let der = PrivatePkcs8KeyDer::from_pem_slice(pem).expect("PEM");
    let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(der.secret_pkcs8_der()).expect("RSA key");
    let spki = pair.public_key().as_der().expect("SPKI").as_ref().to_vec();
    let b64 = STANDARD.encode(&spki);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ASCII"))
        .collect();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    );
    (spki, pem)
}

#[test]
fn forged_access_tokens_are_refused_at_userinfo_and_introspection() {
    let env = Env::new();
    let real = env.real_access_token();
    let bearer = |t: &str| {
        env.call(
            Request::builder()
                .uri("/userinfo")
                .header(header::AUTHORIZATION, format!("Bearer {t}"))
                .body(Body::empty())
                .expect("request"),
        )
    };
    let introspect = |t: &str| {
        let reply = env.post_form(
            "/introspect",
            &[("token", t)],
            &[(header::AUTHORIZATION, &basic("demo-bot", BOT_SECRET))],
        );
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json().expect("JSON")["active"]
            .as_bool()
            .expect("active")
    };
    // Control: the real token works.
    let ok = bearer(&real);
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    assert_eq!(ok.json().unwrap()["sub"], ALICE_SUB);
    assert!(introspect(&real));

    let mut parts = real.split('.');
    let (header_b64, payload, signature) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let kid = header["kid"].as_str().expect("kid").to_string();
    let with = |changes: Value| {
        let mut h = header.clone();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                h.as_object_mut().unwrap().remove(k);
            } else {
                h[k] = v.clone();
            }
        }
        h
    };
    let (spki_der, spki_pem) = rs256_public_key();
    let jwks: Value = serde_json::from_slice(&env.get("/jwks", None).body).unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("kid in JWKS")
        .to_string();
    let attacker = SigningKey::generate(SigningAlg::ES256).expect("ES256 key");
    let es256_kid = env
        .state
        .keys()
        .active(SigningAlg::ES256)
        .expect("ES256 key")
        .kid()
        .to_string();

    let mut forged: Vec<(&str, String)> = vec![
        (
            "alg none, no signature",
            format!(
                "{}.{payload}.",
                URL_SAFE_NO_PAD.encode(with(json!({"alg": "none"})).to_string())
            ),
        ),
        (
            "alg none, real signature kept",
            format!(
                "{}.{payload}.{signature}",
                URL_SAFE_NO_PAD.encode(with(json!({"alg": "none"})).to_string())
            ),
        ),
        (
            "alg None, no kid",
            format!(
                "{}.{payload}.",
                URL_SAFE_NO_PAD.encode(with(json!({"alg": "None", "kid": null})).to_string())
            ),
        ),
    ];
    for (what, secret) in [
        (
            "HS256 keyed with the public key PEM",
            spki_pem.as_bytes().to_vec(),
        ),
        ("HS256 keyed with the public key DER", spki_der),
        ("HS256 keyed with the public JWK", jwk.into_bytes()),
    ] {
        forged.push((
            what,
            jws(&with(json!({"alg": "HS256"})), payload, |m| {
                hs256(&secret, m)
            }),
        ));
    }
    forged.push((
        "unknown kid, validly signed by an unpublished key",
        jws(
            &with(json!({"alg": "ES256", "kid": attacker.kid()})),
            payload,
            |m| attacker.sign(m),
        ),
    ));
    forged.push((
        "no kid, signed by an unpublished key",
        jws(&with(json!({"alg": "ES256", "kid": null})), payload, |m| {
            attacker.sign(m)
        }),
    ));
    forged.push((
        "the published ES256 kid, signed by another key",
        jws(
            &with(json!({"alg": "ES256", "kid": es256_kid})),
            payload,
            |m| attacker.sign(m),
        ),
    ));
    forged.push((
        "a made-up kid, real signature",
        format!(
            "{}.{payload}.{signature}",
            URL_SAFE_NO_PAD.encode(with(json!({"kid": "not-a-kid"})).to_string())
        ),
    ));
    forged.push((
        "real header, payload of another token",
        format!(
            "{header_b64}.{}.{signature}",
            URL_SAFE_NO_PAD.encode(r#"{"sub":"c0ffee00-b0b0-4e00-8000-000000000002"}"#)
        ),
    ));

    for (what, token) in &forged {
        let reply = bearer(token);
        check_invalid_token(&reply).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(!introspect(token), "{what}: introspection says active");
    }

    // Still good before expiry; refused once the IdP clock passes exp.
    assert_eq!(bearer(&real).status, StatusCode::OK);
    let exp =
        serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()["exp"]
            .as_i64()
            .unwrap();
    let past = standin::clock::Instant::from_unix_secs(exp + 1);
    env.state
        .advance_clock(past.duration_since(env.state.now()));
    let reply = bearer(&real);
    check_invalid_token(&reply).unwrap_or_else(|e| panic!("expired: {e}"));
    assert!(!introspect(&real), "expired token introspects as active");
}

#[test]
fn introspection_requires_client_authentication() {
    // RFC 7662 2.1 and 4: the introspection endpoint MUST require client
    // authentication; discovery advertises only client_secret_basic and
    // client_secret_post for it. A public client's id alone is not one.
    let env = Env::new();
    let real = env.real_access_token();
    let advertised: Value =
        serde_json::from_slice(&env.get("/.well-known/openid-configuration", None).body).unwrap();
    let methods = advertised["introspection_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(!methods.contains(&json!("none")), "{methods:?}");
    for body in [
        vec![("token", real.as_str())],
        vec![("token", real.as_str()), ("client_id", "demo-spa")],
    ] {
        let reply = env.post_form("/introspect", &body, &[]);
        assert!(
            matches!(
                reply.status,
                StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED
            ),
            "{body:?}: {} {}",
            reply.status,
            reply.text()
        );
        check_token_error(&reply, &["invalid_client"]).unwrap_or_else(|e| panic!("{body:?}: {e}"));
    }
}
