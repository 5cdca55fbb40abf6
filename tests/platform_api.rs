//! The platform's HTTP surface apart from the delegation flow: the
//! credential API (validation errors, one per problem), conversation API
//! errors, the chat page, and bad input never giving a 500.

mod common;
mod platform_support;

use platform_support::World;
use serde_json::{Value, json};

#[tokio::test]
async fn consumer_auth_credentials_are_validated_and_per_organisation() {
    let w = World::start().await;
    let base = w.platform.url().to_string();
    let issuer = w.idp.issuer().to_string();
    let post = |org: &str, body: Value| {
        w.http
            .post(w.url(&format!("/api/orgs/{org}/credentials/consumer-auth")))
            .json(&body)
            .send()
    };

    let good = platform_support::credential_url(&issuer, &base);
    let r = post("demo", json!({"name": "second", "url": good}))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let saved: Value = r.json().await.unwrap();
    assert_eq!(saved["type"], "consumer_authentication");
    assert_eq!(saved["name"], "second");

    let r = post("demo", json!({"name": "second", "url": good}))
        .await
        .unwrap();
    assert_eq!(r.status(), 409);

    // Everything missing: one error per parameter.
    let r = post(
        "demo",
        json!({"name": "bad", "url": format!("{issuer}/authorize")}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    let codes: Vec<String> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["field"].as_str().unwrap(),
                e["code"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            "client_id:missing",
            "response_type:missing",
            "redirect_uri:missing",
            "scope:missing"
        ]
    );

    // The documents' `redirectedCode` spelling gets its own hint.
    let r = post(
        "demo",
        json!({"name": "bad", "url": good.replace("redirect_uri=", "redirectedCode=")}),
    )
    .await
    .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "redirected_code_parameter");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("redirect_uri")
    );

    // Not absolute; malformed JSON; unknown organisation.
    let r = post("demo", json!({"name": "bad", "url": "/authorize?x=1"}))
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "not_absolute");
    let r = w
        .http
        .post(w.url("/api/orgs/demo/credentials/consumer-auth"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(post("nope", json!({})).await.unwrap().status(), 404);

    // Each organisation sees its own credentials only; no secret is listed.
    let demo: Value = w
        .http
        .get(w.url("/api/orgs/demo/credentials"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = demo["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["brand-login", "second"]);
    assert!(!demo.to_string().contains(platform_support::CLIENT_SECRET));
    let other: Value = w
        .http
        .get(w.url("/api/orgs/other/credentials"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(other["credentials"], json!([]));

    // A conversation of `other` cannot use demo's credential.
    let conv = w.open_in("other", None).await;
    let reply = w.say(&conv, "my orders").await;
    assert!(reply.get("link").is_none(), "{reply}");
    assert!(reply["text"].as_str().unwrap().contains("no credential"));
}

#[tokio::test]
async fn conversation_api_errors_are_4xx_json() {
    let w = World::start().await;
    let r = w
        .http
        .post(w.url("/api/conversations"))
        .json(&json!({"org": "demo", "bot": "nobody"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = w
        .http
        .post(w.url("/api/conversations"))
        .json(&json!({"org": "nowhere", "bot": "demo-bot"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    for path in ["transcript", "events", "context"] {
        let r = w
            .http
            .get(w.url(&format!("/api/conversations/missing/{path}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    let conv = w.open(None).await;
    for body in [
        json!({"text": ""}),
        json!({"text": "a\nb"}),
        json!({"nope": 1}),
    ] {
        let r = w
            .http
            .post(w.url(&format!("/api/conversations/{conv}/messages")))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{body}: {}", r.status());
    }
    let reply = w.say(&conv, "hello").await;
    assert_eq!(reply["text"], "Say my orders.");
    let r = w
        .http
        .put(w.url("/api/conversations"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn odd_callbacks_never_give_a_500() {
    let w = World::start().await;
    let browser = platform_support::Browser::new();
    for query in [
        "",
        "state=",
        "state=%FF%FE&code=%00",
        "state=a&state=b",
        "error=access_denied",
        &format!("state={}&code=x", "a".repeat(5000)),
    ] {
        let (s, page) = browser
            .open(&w.url(&format!("/callback/demo/redirectCode?{query}")))
            .await;
        assert!((400..500).contains(&s), "{query}: {s} {page}");
    }
    let (s, _) = browser.open(&w.url("/callback/demo/somethingElse")).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn the_chat_page_shows_the_link() {
    let w = World::start().await;
    let browser = platform_support::Browser::new();
    let r = browser.http.get(w.url("/chat")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let r = browser
        .http
        .post(w.url(&location))
        .form(&[("text", "my orders")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (s, page) = browser.open(&w.url(&location)).await;
    assert_eq!(s, 200);
    assert!(page.contains("Sign in</a>"), "{page}");
    assert!(page.contains("code_challenge_method=S256"), "{page}");
    // One script, external (the page's policy allows no inline one), and
    // the page works without it: a form posts, a reload shows the answer.
    assert_eq!(page.matches("<script").count(), 1, "{page}");
    assert!(page.contains("<script src=\"/chat.js\" defer>"), "{page}");
    assert!(
        page.contains("<noscript>") && page.contains("method=\"post\""),
        "{page}"
    );
}

/// A token endpoint that departs from RFC 6749 5.1 the way Entra ID v1 and
/// LinkedIn do (lifetime as a string, no token_type) still gives a token;
/// the platform's log of its own OAuth requests names each departure and
/// never the token.
#[tokio::test]
async fn tolerated_departures_of_a_token_response_are_logged() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let w = World::start().await;
    let idp = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"access_token":"entra-like-token","expires_in":"3599","ext_expires_in":"3599"}"#,
            "application/json",
        ))
        .mount(&idp)
        .await;
    w.platform
        .state()
        .add_credential(
            "demo",
            json!({"type": "oauth2_client_credentials", "name": "svc", "client_id": "c",
                   "client_secret": "s", "token_url": format!("{}/token", idp.uri())}),
        )
        .unwrap();
    let r = w
        .http
        .post(w.url("/api/orgs/demo/credentials/svc/authorize"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["authorized"], true, "{body}");
    let log = w.get_json("/api/oauth/requests").await;
    let entry = log["requests"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(entry["grant_type"], "client_credentials", "{log}");
    assert_eq!(entry["client_auth"], "client_secret_basic");
    assert_eq!(entry["outcome"], "ok");
    assert_eq!(
        entry["departures"],
        json!(["token_type_missing", "expires_in_string"])
    );
    assert!(!log.to_string().contains("entra-like-token"));
}
