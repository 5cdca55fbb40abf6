//! The platform's HTTP surface apart from the delegation flow:
//! conversation API errors, the chat page, bad input never giving a 500,
//! the OAuth request log, and the vault console over plain HTTP.

use crate::platform_support::World;
use serde_json::{Value, json};
use standin::conformance::{ConsumerAgent, FormHints};
use standin::platform::PlatformOptions;
use standin::platform::conversations::ConversationLimits;
use url::Url;

#[tokio::test]
async fn conversation_api_errors_are_4xx_json() {
    let w = World::start().await;
    let chat = w.chat();
    for body in [
        json!({"org": "demo", "bot": "nobody"}),
        json!({"org": "nowhere", "bot": "demo-bot"}),
    ] {
        let answer = chat.open_with(body).await.unwrap();
        assert_eq!(answer.status, 400, "{answer:?}");
    }
    for path in ["transcript", "events", "context"] {
        let r = w
            .http
            .get(w.url(&format!("/api/conversations/missing/{path}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    let conv = chat.open("demo", None).await.unwrap();
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
    let reply = chat.say(&conv, "hello").await.unwrap();
    assert_eq!(reply.text, "Say my orders.");
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
    let browser = w.consumer();
    for query in [
        "",
        "state=",
        "state=%FF%FE&code=%00",
        "state=a&state=b",
        "error=access_denied",
        &format!("state={}&code=x", "a".repeat(5000)),
    ] {
        let page = browser
            .return_to(&w.url(&format!("/callback/demo/redirectCode?{query}")))
            .await
            .unwrap();
        assert!((400..500).contains(&page.status), "{query}: {page:?}");
    }
    let page = browser
        .return_to(&w.url("/callback/demo/somethingElse"))
        .await
        .unwrap();
    assert_eq!(page.status, 404);
}

/// The chat page without scripts, as the agent sees it: `/chat` opens a
/// conversation and redirects to it; its form posts the message and
/// redirects back, and the page then shows the sign-in link.
#[tokio::test]
async fn the_chat_page_shows_the_link() {
    let w = World::start().await;
    let mut agent = ConsumerAgent::new(FormHints::default()).unwrap();
    let landing = agent
        .open(&Url::parse(&w.url("/chat")).unwrap())
        .await
        .unwrap();
    let page = landing.page().expect("the chat page").clone();
    assert_eq!(page.status, 200, "{}", page.describe());
    let chat_path = page.url.path().to_string();
    assert!(chat_path.starts_with("/chat/"), "{chat_path}");
    let mut form = page
        .form_with_field("text")
        .unwrap()
        .expect("the message form");
    assert_eq!(form.method, reqwest::Method::POST);
    form.set("text", "my orders");
    let pressed = form.buttons.first().cloned();
    let landing = agent.submit(&form, pressed.as_ref()).await.unwrap();
    let page = landing.page().expect("the chat page again");
    assert_eq!(page.status, 200, "{}", page.describe());
    assert_eq!(page.url.path(), chat_path, "redirected back to the chat");
    assert_eq!(
        agent.history(),
        [
            "GET /chat".to_string(),
            format!("GET {chat_path}"),
            format!("POST {chat_path}"),
            format!("GET {chat_path}"),
        ]
    );
    let html = &page.html;
    assert!(html.contains("Sign in</a>"), "{html}");
    assert!(html.contains("code_challenge_method=S256"), "{html}");
    // One script, external (the page's policy allows no inline one), and
    // the page works without it: a form posts, a reload shows the answer.
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert!(html.contains("<script src=\"/chat.js\" defer>"), "{html}");
    assert!(html.contains("<noscript>"), "{html}");
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
    let log = w.chat().get_json("/api/oauth/requests").await.unwrap();
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
    use standin::conformance::Page;
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
        let page = http()
            .get(format!(
                "{}/console/orgs/acme/credentials/brand-basic/edit",
                p.url()
            ))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        let page = Page::from_response(page).await.unwrap();
        let form = page
            .form_with_field("username")
            .unwrap()
            .expect("the edit form");
        assert_eq!(form.value("username"), Some("bot"));
        assert_eq!(form.value("password"), Some(""));
        assert!(!page.html.contains("first-password-canary"));
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
    let conv = chat.open("demo", None).await.unwrap();
    let transcript = format!("/api/conversations/{conv}/transcript");
    let events = format!("/api/conversations/{conv}/events");
    let t = chat.get_json(&transcript).await.unwrap();
    assert_eq!(t["earlier_messages_dropped"], 0, "always present: {t}");
    assert_eq!(
        chat.get_json(&events).await.unwrap()["earlier_events_dropped"],
        0
    );

    // Two turns (messages 0 to 3), then a sign-in link (messages 4 and 5).
    for i in 0..2 {
        chat.say(&conv, &format!("hello {i}")).await.unwrap();
    }
    chat.ask_for_link(&conv, "my orders").await.unwrap();
    let t = chat.get_json(&transcript).await.unwrap();
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
    let e = chat.get_json(&events).await.unwrap();
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
    let conv = chat.open("demo", None).await.unwrap();
    chat.say(&conv, "hello").await.unwrap();
    let before = chat.transcript(&conv).await.unwrap();
    let events_before = chat.events(&conv).await.unwrap();

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
    assert_eq!(chat.transcript(&conv).await.unwrap(), before);
    assert_eq!(chat.events(&conv).await.unwrap(), events_before);

    // The limit is in characters, not bytes: 2,000 two-byte characters pass.
    let reply = chat.say(&conv, &"é".repeat(2000)).await.unwrap();
    assert_eq!(reply.text, "Say my orders.");
}

/// What an ordinary conversation takes: a sign-in and an answer. The
/// figure behind the default byte budget (`ConversationLimits::max_bytes`).
#[tokio::test]
async fn an_ordinary_conversation_takes_a_few_kilobytes() {
    let w = World::start().await;
    let chat = w.chat();
    let conv = chat.open("demo", None).await.unwrap();
    let link = chat.ask_for_link(&conv, "my orders").await.unwrap();
    let mut consumer = w.consumer();
    let back = consumer
        .sign_in_through(&link.0, "alice", "alice-password", true)
        .await
        .unwrap();
    let page = consumer.return_to(back.as_str()).await.unwrap();
    assert_eq!(page.status, 200, "{page:?}");
    chat.say(&conv, "my orders").await.unwrap();
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
