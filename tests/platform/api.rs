//! The platform's HTTP surface apart from the delegation flow: the
//! credential API (validation errors, one per problem), conversation API
//! errors, the chat page, and bad input never giving a 500.

use crate::platform_support::World;
use serde_json::{Value, json};
use standin::platform::PlatformOptions;
use standin::platform::conversations::ConversationLimits;

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

    let good = crate::platform_support::credential_url(&issuer, &base);
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
    assert!(
        !demo
            .to_string()
            .contains(crate::platform_support::CLIENT_SECRET)
    );
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
    let browser = crate::platform_support::Browser::new();
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
    let browser = crate::platform_support::Browser::new();
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

/// The vault console over plain HTTP: what a browser test cannot easily
/// show (cookies' attributes, forged posts, sessions ending on the clock,
/// a secret left blank on edit).
mod console {
    use std::time::Duration;

    use standin::clock::Clock;
    use standin::platform::org::OrgId;
    use standin::platform::{Platform, PlatformFixtures, PlatformOptions};

    const TOKEN: &str = "acme-admin-token";

    async fn platform(clock: &Clock) -> Platform {
        let toml = format!(
            r#"
[[orgs]]
id = "acme"
admin_token = "{TOKEN}"
[orgs.provider]
token_endpoint = "http://127.0.0.1:9/token"
client_id = "c"
client_secret = "s"

[[orgs]]
id = "other"
admin_token = "other-admin-token"
[orgs.provider]
token_endpoint = "http://127.0.0.1:9/token"
client_id = "c"
client_secret = "s"
"#
        );
        Platform::start_with(
            PlatformFixtures::from_toml(&toml, "console").unwrap(),
            PlatformOptions {
                clock: clock.clone(),
                ..PlatformOptions::default()
            },
        )
        .await
        .unwrap()
    }

    /// Redirects off, no cookie store: each request says what it sends.
    fn http() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// A multipart body of text fields, as a browser sends a form.
    fn multipart(fields: &[(&str, &str)]) -> (String, String) {
        let boundary = "----standin-test-boundary";
        let mut body = String::new();
        for (name, value) in fields {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        (format!("multipart/form-data; boundary={boundary}"), body)
    }

    async fn sign_in(p: &Platform, token: &str, origin: Option<&str>) -> reqwest::Response {
        let mut request = http()
            .post(format!("{}/console/orgs/acme/session", p.url()))
            .form(&[("admin_token", token)]);
        if let Some(o) = origin {
            request = request.header("origin", o);
        }
        request.send().await.unwrap()
    }

    fn cookie_of(r: &reqwest::Response) -> String {
        let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
        set.split(';').next().unwrap().to_string()
    }

    #[tokio::test]
    async fn the_admin_token_opens_one_organisation_for_one_browser_session() {
        let clock = Clock::frozen();
        let p = platform(&clock).await;
        let page = |cookie: Option<String>, path: &'static str| {
            let mut r = http().get(format!("{}{path}", p.url()));
            if let Some(c) = cookie {
                r = r.header("cookie", c);
            }
            async move { r.send().await.unwrap().text().await.unwrap() }
        };
        // No session: the token form, never the list.
        let asked = page(None, "/console/orgs/acme").await;
        assert!(asked.contains("Admin token") && !asked.contains("Add credential"));

        // A wrong token: back to the form, which says so.
        let wrong = sign_in(&p, "nope", None).await;
        assert_eq!(wrong.status(), 303);
        assert!(wrong.headers().get("set-cookie").is_none());
        assert_eq!(
            wrong.headers()["location"],
            "/console/orgs/acme?token=wrong"
        );

        // The right token from another site: refused, no session.
        let forged = sign_in(&p, TOKEN, Some("http://evil.example")).await;
        assert_eq!(forged.status(), 403);
        assert!(forged.headers().get("set-cookie").is_none());

        // The right token: a cookie for this browser session only.
        let ok = sign_in(&p, TOKEN, Some(p.url().trim_end_matches('/'))).await;
        assert_eq!(ok.status(), 303);
        let set = ok.headers()["set-cookie"].to_str().unwrap().to_string();
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
            assert!(set.contains(attribute), "{set}");
        }
        assert!(
            !set.contains("Max-Age") && !set.contains("Expires") && !set.contains(TOKEN),
            "{set}"
        );
        let cookie = cookie_of(&ok);
        assert!(
            page(Some(cookie.clone()), "/console/orgs/acme")
                .await
                .contains("Add credential")
        );
        // Not another organisation, and not a forged session.
        assert!(
            page(Some(cookie.clone()), "/console/orgs/other")
                .await
                .contains("Admin token")
        );
        assert!(
            page(Some("standin_console=forged".into()), "/console/orgs/acme")
                .await
                .contains("Admin token")
        );

        // A post from another site with the session: refused, nothing saved.
        let (kind, body) = multipart(&[
            ("type", "access_token"),
            ("name", "planted"),
            ("token", "t"),
            ("token_type", "Bearer"),
        ]);
        let planted = http()
            .post(format!("{}/console/orgs/acme/new", p.url()))
            .header("cookie", &cookie)
            .header("origin", "http://evil.example")
            .header("content-type", kind)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(planted.status(), 403);
        let acme = OrgId::parse("acme").unwrap();
        assert!(p.state().vault.list(&acme).is_empty());

        // The session ends with its lifetime on the shared clock.
        clock.advance(Duration::from_secs(12 * 3600));
        assert!(
            page(Some(cookie), "/console/orgs/acme")
                .await
                .contains("Admin token")
        );
    }

    #[tokio::test]
    async fn an_edit_keeps_the_secret_left_blank_and_a_refused_save_shows_no_secret() {
        let clock = Clock::frozen();
        let p = platform(&clock).await;
        let cookie = cookie_of(&sign_in(&p, TOKEN, None).await);
        let post = |path: String, fields: Vec<(&'static str, &'static str)>| {
            let (kind, body) = multipart(&fields);
            http()
                .post(format!("{}{path}", p.url()))
                .header("cookie", &cookie)
                .header("content-type", kind)
                .body(body)
                .send()
        };
        let saved = post(
            "/console/orgs/acme/new".into(),
            vec![
                ("type", "basic_authentication"),
                ("name", "brand-basic"),
                ("username", "bot"),
                ("password", "first-password-canary"),
            ],
        )
        .await
        .unwrap();
        assert_eq!(saved.status(), 303);
        assert_eq!(
            saved.headers()["location"],
            "/console/orgs/acme?saved=brand-basic"
        );

        // The edit form never shows the password; left blank, it stays.
        let form = http()
            .get(format!(
                "{}/console/orgs/acme/credentials/brand-basic/edit",
                p.url()
            ))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(form.contains("value=\"bot\"") && !form.contains("first-password-canary"));
        let edited = post(
            "/console/orgs/acme/credentials/brand-basic/edit".into(),
            vec![
                ("type", "basic_authentication"),
                ("username", "bot-2"),
                ("password", ""),
            ],
        )
        .await
        .unwrap();
        assert_eq!(edited.status(), 303);
        let acme = OrgId::parse("acme").unwrap();
        let kept = p.state().vault.get(&acme, "brand-basic").unwrap();
        let kept = kept.sealed().to_string();
        assert!(
            kept.contains("bot-2") && kept.contains("first-password-canary"),
            "{kept}"
        );

        // A refused save: the errors on the page, the secret not.
        let refused = post(
            "/console/orgs/acme/new".into(),
            vec![
                ("type", "basic_authentication"),
                ("name", "brand-basic"),
                ("username", ""),
                ("password", "second-password-canary"),
            ],
        )
        .await
        .unwrap();
        assert_eq!(refused.status(), 200);
        let page = refused.text().await.unwrap();
        assert!(page.contains("Nothing was saved"), "{page}");
        assert!(page.contains("id=\"f-username-error\""), "{page}");
        assert!(!page.contains("second-password-canary"), "{page}");
        // The name taken: the vault's refusal beside the name.
        let taken = post(
            "/console/orgs/acme/new".into(),
            vec![
                ("type", "basic_authentication"),
                ("name", "brand-basic"),
                ("username", "bot"),
                ("password", "third-password-canary"),
            ],
        )
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
        assert!(taken.contains("id=\"f-name-error\""), "{taken}");
        assert!(taken.contains("exists in this organisation"), "{taken}");
        assert!(!taken.contains("third-password-canary"), "{taken}");
    }
}

/// A platform keeping 4 messages and 5 events per conversation.
async fn small_caps() -> World {
    World::start_with(PlatformOptions {
        conversations: ConversationLimits {
            max_messages: 4,
            max_events: 5,
            ..ConversationLimits::default()
        },
        ..PlatformOptions::default()
    })
    .await
}

#[tokio::test]
async fn a_conversation_keeps_its_newest_messages_and_events_and_counts_the_rest() {
    let w = small_caps().await;
    let chat = w.chat();
    let conv = chat.open(None).await;
    let transcript = format!("/api/conversations/{conv}/transcript");
    let events = format!("/api/conversations/{conv}/events");
    let t = chat.get_json(&transcript).await;
    assert_eq!(t["earlier_messages_dropped"], 0, "always present: {t}");
    assert_eq!(chat.get_json(&events).await["earlier_events_dropped"], 0);

    // Two turns (messages 0 to 3), then a sign-in link (messages 4 and 5).
    for i in 0..2 {
        chat.say(&conv, &format!("hello {i}")).await;
    }
    chat.challenged(&conv, "my orders").await;
    let t = chat.get_json(&transcript).await;
    assert_eq!(t["earlier_messages_dropped"], 2, "{t}");
    let texts: Vec<&str> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts[..3], ["hello 1", "Say my orders.", "my orders"]);
    assert!(t["messages"][3]["link"].is_string(), "{t}");
    // Opened, two turns of consumer_message and no_dialog, then at least
    // consumer_message, dialog_matched and challenge_sent.
    let e = chat.get_json(&events).await;
    let kept = e["events"].as_array().unwrap().len();
    assert_eq!(kept, 5, "{e}");
    let dropped = e["earlier_events_dropped"].as_u64().unwrap();
    assert!(dropped >= 3, "{e}");
    assert_eq!(e["events"][4]["kind"], "challenge_sent", "{e}");

    // The page says so, and the link's id is its message's sequence
    // number (5), not its index among the messages kept (3).
    let page = w
        .http
        .get(w.url(&format!("/chat/{conv}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("2 earlier messages are no longer kept."),
        "{page}"
    );
    assert!(
        page.contains(&format!("{dropped} earlier events are no longer kept.")),
        "{page}"
    );
    assert!(page.contains("id=\"signin-5\""), "{page}");
    assert!(!page.contains("id=\"signin-3\""), "{page}");
    assert!(
        page.contains(&format!("id=\"step-{}\"", dropped + 4)),
        "{page}"
    );
    assert!(page.contains("maxlength=\"2000\""), "{page}");
}

#[tokio::test]
async fn a_message_too_long_is_refused_and_nothing_is_appended() {
    let w = small_caps().await;
    let chat = w.chat();
    let conv = chat.open(None).await;
    chat.say(&conv, "hello").await;
    let before = chat
        .get_json(&format!("/api/conversations/{conv}/transcript"))
        .await;
    let events_before = chat.events(&conv).await;

    let r = w
        .http
        .post(w.url(&format!("/api/conversations/{conv}/messages")))
        .json(&json!({ "text": "a".repeat(2001) }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request", "{body}");
    let why = body["error_description"].as_str().unwrap();
    assert!(
        why.contains("2001 characters") && why.contains("at most 2000 characters"),
        "{why}"
    );
    assert_eq!(
        chat.get_json(&format!("/api/conversations/{conv}/transcript"))
            .await,
        before
    );
    assert_eq!(chat.events(&conv).await, events_before);

    // The limit is in characters, not bytes: 2,000 two-byte characters pass.
    let reply = chat.say(&conv, &"é".repeat(2000)).await;
    assert_eq!(reply["text"], "Say my orders.");
}

/// What an ordinary conversation takes: a sign-in and an answer. The
/// figure behind the default byte budget (`ConversationLimits::max_bytes`).
#[tokio::test]
async fn an_ordinary_conversation_takes_a_few_kilobytes() {
    let w = World::start().await;
    let conv = w.open(None).await;
    let link = w.challenged(&conv, "my orders").await;
    crate::platform_support::Browser::new()
        .complete_sign_in(&link)
        .await;
    w.say(&conv, "my orders").await;
    let convs = &w.platform.state().conversations;
    let bytes = convs.bytes();
    let id = serde_json::from_value(json!(conv)).unwrap();
    let (messages, events) = convs
        .read(&id, |c| (c.transcript.len(), c.events.events().len()))
        .unwrap();
    eprintln!("{messages} messages, {events} events: {bytes} bytes");
    assert!(messages >= 4 && events >= 10, "{messages}, {events}");
    assert!(bytes > 2_000 && bytes < 32_000, "{bytes}");
}
