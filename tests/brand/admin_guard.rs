//! The admin API is open on loopback and, bound elsewhere, needs the
//! configured bearer token (or is off without one). The policy is decided at
//! start-up from the bound address; here the router is driven in-process
//! with the policy a non-loopback bind would give.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use standin::clock::Clock;
use standin::idp::fixtures::Fixtures;
use standin::idp::keys::KeySet;
use standin::idp::{IdpState, router};
use standin::secret::Secret;
use tower::ServiceExt as _;

fn state(admin_token: Option<&str>, admin_open: bool) -> IdpState {
    let mut fixtures = Fixtures::default_brand();
    fixtures.idp.admin_token = admin_token.map(Secret::new);
    let keys = KeySet::new(fixtures.signing_keys().unwrap());
    IdpState::new(
        "http://idp.example".into(),
        Clock::new(),
        fixtures,
        keys,
        admin_open,
    )
}

async fn get_grants(state: &IdpState, bearer: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::get("/admin/grants");
    if let Some(b) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {b}"));
    }
    let response = router(state.clone())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn loopback_admin_is_open() {
    let (status, body) = get_grants(&state(None, true), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("\"codes\""));
}

#[tokio::test]
async fn off_loopback_admin_needs_the_configured_token() {
    let s = state(Some("s3cret-admin"), false);
    let (status, body) = get_grants(&s, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = get_grants(&s, Some("wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = get_grants(&s, Some("s3cret-admin")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn off_loopback_admin_without_a_token_is_off() {
    let (status, body) = get_grants(&state(None, false), Some("anything")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("admin_token"), "{body}");
}

#[tokio::test]
async fn protocol_endpoints_do_not_need_the_admin_token() {
    let s = state(Some("s3cret-admin"), false);
    let response = router(s)
        .oneshot(
            Request::get("/.well-known/openid-configuration")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[test]
fn the_admin_token_never_prints() {
    let s = state(Some("s3cret-admin"), false);
    let debug = format!("{:?}", s.fixtures);
    assert!(!debug.contains("s3cret-admin"), "{debug}");
    assert!(!debug.contains("demo-bot-secret"), "{debug}");
    assert!(!debug.contains("alice-password"), "{debug}");
    // PEM bytes would print as a list starting with "-----" (45s).
    assert!(!debug.contains("45, 45, 45"), "private key bytes in Debug");
    assert!(debug.contains("[redacted private key]"), "{debug}");
}
