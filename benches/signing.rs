//! Signing throughput of the IdP's token minting, single core.
//!
//! Run with `cargo bench --bench signing` (see benches/README.md).
//!
//! Groups:
//! - `raw`: one signature over a JWT-sized message with the parsed
//!   `aws-lc-rs` key pair (`SigningKey::sign`), per algorithm. RS256 here
//!   is the ceiling for the token endpoint.
//! - `jwt`: a whole RFC 9068 access token (`SigningKey::sign_jwt`: header
//!   and claims JSON, base64url, signature), per algorithm.
//! - `jsonwebtoken`: the same token through `jsonwebtoken::encode` with an
//!   `EncodingKey` from the same PEM, which re-parses the private key on
//!   every signature. The difference to `jwt` is why `keys.rs` signs with
//!   parsed key pairs.
//! - `per_request`: the other per-token costs of the token endpoint
//!   (token id hashing, random values), and the whole client credentials
//!   exchange in process, without HTTP.
//! - `http_in_process`: `POST /token` through the axum router with
//!   `tower::ServiceExt::oneshot` (routing, middleware, form parsing, client
//!   authentication, JSON response), no sockets.

use std::hint::black_box;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::Serialize;
use standin::clock::Clock;
use standin::idp::keys::{KeySet, SigningKey};
use standin::idp::token::{TokenRequest, exchange};
use standin::idp::{Fixtures, IdpState, SigningAlg, router, token_id};
use standin::secret::random_token;
use tower::ServiceExt as _;

const ALGS: [(SigningAlg, &[u8]); 3] = [
    (
        SigningAlg::RS256,
        include_bytes!("../fixtures/keys/rs256.pem"),
    ),
    (
        SigningAlg::ES256,
        include_bytes!("../fixtures/keys/es256.pem"),
    ),
    (
        SigningAlg::EdDSA,
        include_bytes!("../fixtures/keys/eddsa.pem"),
    ),
];

/// The claims `tokens::mint_access` signs for a client credentials grant.
#[derive(Serialize)]
struct AccessClaims {
    iss: &'static str,
    sub: &'static str,
    aud: &'static str,
    exp: i64,
    iat: i64,
    nbf: i64,
    jti: String,
    client_id: &'static str,
    scope: &'static str,
}

fn claims() -> AccessClaims {
    AccessClaims {
        iss: "http://127.0.0.1:8400",
        sub: "demo-service",
        aud: "brand-api",
        exp: 1_700_000_600,
        iat: 1_700_000_000,
        nbf: 1_700_000_000,
        jti: random_token(16),
        client_id: "demo-service",
        scope: "delegated.token.read.external orders:read payments:write",
    }
}

fn key(alg: SigningAlg, pem: &[u8]) -> SigningKey {
    SigningKey::from_pem(alg, pem).expect("fixture key loads")
}

fn raw(c: &mut Criterion) {
    let mut group = c.benchmark_group("raw");
    group.throughput(Throughput::Elements(1));
    // The signing input of a typical access token (~ 400 bytes).
    let message = vec![b'a'; 400];
    for (alg, pem) in ALGS {
        let key = key(alg, pem);
        group.bench_function(alg.as_str(), |b| b.iter(|| key.sign(black_box(&message))));
    }
    group.finish();
}

fn jwt(c: &mut Criterion) {
    let mut group = c.benchmark_group("jwt");
    group.throughput(Throughput::Elements(1));
    let claims = claims();
    for (alg, pem) in ALGS {
        let key = key(alg, pem);
        group.bench_function(alg.as_str(), |b| {
            b.iter(|| key.sign_jwt("at+jwt", black_box(&claims)))
        });
    }
    group.finish();
}

fn jsonwebtoken_encode(c: &mut Criterion) {
    use jsonwebtoken::{EncodingKey, Header};

    let mut group = c.benchmark_group("jsonwebtoken");
    group.throughput(Throughput::Elements(1));
    let claims = claims();
    for (alg, pem) in ALGS {
        let ours = key(alg, pem);
        let encoding = match alg {
            SigningAlg::RS256 => EncodingKey::from_rsa_pem(pem),
            SigningAlg::ES256 => EncodingKey::from_ec_pem(pem),
            SigningAlg::EdDSA => EncodingKey::from_ed_pem(pem),
        }
        .expect("jsonwebtoken loads the fixture key");
        let mut header = Header::new(alg.jwt_algorithm());
        header.typ = Some("at+jwt".into());
        header.kid = Some(ours.kid().to_string());
        // Same key: what jsonwebtoken signs verifies with ours.
        let token = jsonwebtoken::encode(&header, &claims, &encoding).expect("encodes");
        let mut validation = jsonwebtoken::Validation::new(alg.jwt_algorithm());
        validation.validate_exp = false;
        validation.validate_aud = false;
        jsonwebtoken::decode::<serde_json::Value>(&token, ours.decoding_key(), &validation)
            .expect("jsonwebtoken's token verifies with the fixture key");
        group.bench_function(alg.as_str(), |b| {
            b.iter(|| {
                jsonwebtoken::encode(&header, black_box(&claims), &encoding).expect("encodes")
            })
        });
    }
    group.finish();
}

fn state() -> IdpState {
    let fixtures = Fixtures::default_brand();
    let keys = KeySet::new(fixtures.signing_keys().expect("fixture keys load"));
    IdpState::new(
        "http://127.0.0.1:8400".into(),
        Clock::new(),
        fixtures,
        keys,
        true,
    )
}

fn per_request(c: &mut Criterion) {
    let mut group = c.benchmark_group("per_request");
    group.throughput(Throughput::Elements(1));
    let token = key(ALGS[0].0, ALGS[0].1).sign_jwt("at+jwt", &claims());
    group.bench_function("token_id_of_rs256_jwt", |b| {
        b.iter(|| token_id(black_box(&token)))
    });
    group.bench_function("random_token_32", |b| {
        b.iter(|| random_token(black_box(32)))
    });

    // The whole client credentials decision and minting, no HTTP. The
    // store keeps every record it mints, so each iteration adds one.
    let state = state();
    let client = state.store().clients["demo-service"].clone();
    group.bench_function("exchange_client_credentials_rs256", |b| {
        b.iter(|| {
            exchange(
                &state,
                &client,
                TokenRequest::ClientCredentials { scope: None },
            )
            .expect("client credentials succeeds")
        })
    });
    group.finish();
}

fn http_in_process(c: &mut Criterion) {
    let mut group = c.benchmark_group("http_in_process");
    group.throughput(Throughput::Elements(1));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let app = router(state());
    // base64("demo-service:demo-service-secret")
    let basic = "Basic ZGVtby1zZXJ2aWNlOmRlbW8tc2VydmljZS1zZWNyZXQ=";
    let request = || {
        Request::post("/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::AUTHORIZATION, basic)
            .body(Body::from("grant_type=client_credentials"))
            .expect("request")
    };
    let status = runtime
        .block_on(app.clone().oneshot(request()))
        .expect("answers")
        .status();
    assert_eq!(status, StatusCode::OK);
    group.bench_function("post_token_client_credentials_rs256", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let response = app.clone().oneshot(request()).await.expect("answers");
                axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .expect("body")
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6));
    targets = raw, jwt, jsonwebtoken_encode, per_request, http_in_process
}
criterion_main!(benches);
