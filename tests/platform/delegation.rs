//! The consumer-delegation flow of unauthenticated conversations, end to
//! end over HTTP: a real mock IdP, a wiremock brand API, the platform.

use std::time::Duration;

use crate::platform_support::{Browser, World, param};
use serde_json::json;
use standin::idp::state::Grant;
use standin::idp::{Endpoint, Fault};
use standin::platform::PlatformOptions;
use wiremock::matchers::{body_json, header_exists, method, path};
use wiremock::{Mock, ResponseTemplate};

/// Link, sign-in, callback, answer; then the next call reuses the token;
/// nothing refresh-related ever happens; closing purges.
#[tokio::test]
async fn full_flow_link_sign_in_callback_answer() {
    let w = World::start().await;
    let conv = w.open(Some("alice-1")).await;

    // Steps 1-2: the dialog needs a token; the bot sends a link.
    let link = w.challenged(&conv, "my orders").await;
    assert!(
        link.as_str()
            .starts_with(&format!("{}/authorize?", w.idp.issuer()))
    );
    assert_eq!(param(&link, "client_id").as_deref(), Some("platform-bot"));
    assert_eq!(
        param(&link, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(param(&link, "code_challenge").map(|c| c.len()), Some(43));
    assert!(param(&link, "state").is_some_and(|s| s.len() >= 43));
    assert!(param(&link, "nonce").is_some());
    assert!(
        w.tokens_seen().await.is_empty(),
        "no API call without a token"
    );

    // Steps 3-4: the consumer signs in; the IdP redirects to the callback.
    let browser = Browser::new();
    let callback = browser.sign_in(&link, "allow").await;
    assert!(
        callback
            .as_str()
            .starts_with(&w.url("/callback/demo/redirectCode?")),
        "{callback}"
    );
    let (status, page) = browser.open(callback.as_str()).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("return to the chat"), "{page}");

    // Step 5: the answer is in the chat.
    let answer = w.last_bot(&conv).await;
    assert_eq!(
        answer["text"],
        "Your orders: 1001 (shipped); 1002 (pending)"
    );
    let tokens = w.tokens_seen().await;
    assert_eq!(tokens.len(), 1);
    let grants = w.idp.control().grants();
    let access = grants
        .access_token(&tokens[0])
        .expect("an IdP access token");
    assert_eq!(access.client_id, "platform-bot");
    assert_eq!(grants.codes.len(), 1);
    assert_eq!(grants.codes[0].presented, 1, "one code exchange");

    let events = w.events(&conv).await;
    for expected in [
        "challenge_sent",
        "callback_received",
        "exchange_done",
        "id_token_validated",
        "token_stored",
        "integration_called",
        "answer_posted",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "{expected} in {events:?}"
        );
    }

    // The token is reused while valid.
    let again = w.say(&conv, "my orders").await;
    assert!(again.get("link").is_none(), "{again}");
    assert_eq!(
        w.tokens_seen().await,
        vec![tokens[0].clone(), tokens[0].clone()]
    );

    // The refresh token: never stored, never presented, no refresh grant.
    let ctx = w.context(&conv).await;
    assert_eq!(ctx["access_token_present"], true);
    assert_eq!(ctx["refresh_token_present"], false);
    let grants = w.idp.control().grants();
    assert!(grants.refresh_tokens.iter().all(|r| r.presented == 0));
    assert!(
        grants
            .access_tokens
            .iter()
            .all(|a| a.grant == Grant::AuthorizationCode)
    );
    assert!(
        events.iter().any(|e| e == "refresh_token_dropped"),
        "{events:?}"
    );
    // Nothing readable exposes a token value.
    for path in ["transcript", "events", "context"] {
        let body = w
            .get_json(&format!("/api/conversations/{conv}/{path}"))
            .await
            .to_string();
        assert!(!body.contains(&tokens[0]), "{path} leaks the token");
    }

    // Closing purges the context.
    let r = w
        .http
        .delete(w.url(&format!("/api/conversations/{conv}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(w.context(&conv).await["access_token_present"], false);
    let r = w
        .http
        .post(w.url(&format!("/api/conversations/{conv}/messages")))
        .json(&json!({"text": "my orders"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
}

/// The documents also show `/callback/{account}/redirectedCode`; an
/// organisation whose credential uses it gets the same flow. Credentials
/// are per organisation: `other` has its own `brand-login`.
#[tokio::test]
async fn the_redirected_code_callback_path_works_too() {
    let w = World::start().await;
    let base = w.platform.url().to_string();
    w.platform
        .state()
        .add_consumer_auth(
            "other",
            "brand-login",
            &crate::platform_support::credential_url_for(
                w.idp.issuer(),
                &format!("{base}/callback/other/redirectedCode"),
            ),
        )
        .expect("valid");
    let conv = w.open_in("other", None).await;
    let link = w.challenged(&conv, "my orders").await;
    let browser = Browser::new();
    let callback = browser.sign_in(&link, "allow").await;
    assert!(
        callback
            .as_str()
            .starts_with(&w.url("/callback/other/redirectedCode?")),
        "{callback}"
    );
    let (status, page) = browser.open(callback.as_str()).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        w.last_bot(&conv).await["text"]
            .as_str()
            .unwrap()
            .starts_with("Your orders")
    );
}

#[tokio::test]
async fn two_conversations_of_one_consumer_never_share_a_token() {
    let w = World::start().await;
    let a = w.open(Some("alice")).await;
    let b = w.open(Some("alice")).await;
    let browser = Browser::new();

    let link_a = w.challenged(&a, "my orders").await;
    browser.complete_sign_in(&link_a).await;
    let token_a = w.tokens_seen().await[0].clone();

    // B has no token: it gets its own link, not A's token.
    let link_b = w.challenged(&b, "my orders").await;
    assert_ne!(param(&link_a, "state"), param(&link_b, "state"));
    assert_eq!(w.tokens_seen().await.len(), 1);
    assert_eq!(w.context(&b).await["access_token_present"], false);

    browser.complete_sign_in(&link_b).await;
    let seen = w.tokens_seen().await;
    assert_eq!(seen.len(), 2);
    assert_ne!(seen[1], token_a, "B uses its own token");

    // Closing A leaves B's token alone.
    w.http
        .delete(w.url(&format!("/api/conversations/{a}")))
        .send()
        .await
        .unwrap();
    assert_eq!(w.context(&b).await["access_token_present"], true);
    assert!(w.say(&b, "my orders").await.get("link").is_none());
    assert_eq!(w.tokens_seen().await[2], seen[1]);
}

#[tokio::test]
async fn state_attacks_are_refused_with_a_clear_page() {
    let w = World::start().await;
    let browser = Browser::new();

    // No state, unknown state.
    let iss: String = url::form_urlencoded::byte_serialize(w.idp.issuer().as_bytes()).collect();
    let (s, page) = browser
        .open(&w.url("/callback/demo/redirectCode?code=abc"))
        .await;
    assert_eq!(s, 400);
    assert!(page.contains("no state"), "{page}");
    let (s, page) = browser
        .open(&w.url(&format!(
            "/callback/demo/redirectCode?code=abc&state=forged&iss={iss}"
        )))
        .await;
    assert_eq!(s, 400);
    assert!(page.contains("not issued here"), "{page}");
    // The IdP advertises RFC 9207 `iss`: a response without it is refused.
    let (s, page) = browser
        .open(&w.url("/callback/demo/redirectCode?code=abc&state=forged"))
        .await;
    assert_eq!(s, 400);
    assert!(page.contains("RFC 9207"), "{page}");

    // Another account: refused, and the state is not spent.
    let conv = w.open(None).await;
    let link = w.challenged(&conv, "my orders").await;
    let cb = browser.sign_in(&link, "allow").await;
    let other = cb.as_str().replace("/callback/demo/", "/callback/other/");
    let (s, page) = browser.open(&other).await;
    assert_eq!(s, 400);
    assert!(page.contains("another account"), "{page}");
    assert_eq!(w.idp.control().grants().codes[0].presented, 0);

    // The real callback still works; replaying it is refused.
    assert_eq!(browser.open(cb.as_str()).await.0, 200);
    let (s, page) = browser.open(cb.as_str()).await;
    assert_eq!(s, 400);
    assert!(page.contains("already been used"), "{page}");
    assert_eq!(w.idp.control().grants().codes[0].presented, 1);
    let events = w.events(&conv).await;
    assert!(
        events.contains(&"state_rejected:wrong_account".into()),
        "{events:?}"
    );
    assert!(
        events.contains(&"state_rejected:reused".into()),
        "{events:?}"
    );

    // Expired: the link is older than five minutes on the shared clock.
    let conv = w.open(None).await;
    let link = w.challenged(&conv, "my orders").await;
    w.clock.advance(Duration::from_secs(301));
    let cb = browser.sign_in(&link, "allow").await;
    let (s, page) = browser.open(cb.as_str()).await;
    assert_eq!(s, 400);
    assert!(page.contains("expired"), "{page}");
    assert!(
        w.events(&conv)
            .await
            .contains(&"state_rejected:expired".into())
    );
    assert_eq!(w.context(&conv).await["access_token_present"], false);

    // Closed conversation: refused, no exchange.
    let conv = w.open(None).await;
    let link = w.challenged(&conv, "my orders").await;
    w.http
        .delete(w.url(&format!("/api/conversations/{conv}")))
        .send()
        .await
        .unwrap();
    let cb = browser.sign_in(&link, "allow").await;
    let code = param(&cb, "code").unwrap();
    let (s, page) = browser.open(cb.as_str()).await;
    assert_eq!(s, 400);
    assert!(page.contains("closed"), "{page}");
    assert_eq!(w.idp.control().grants().code(&code).unwrap().presented, 0);

    // A mix-up: the response names another issuer (RFC 9207).
    let conv = w.open(None).await;
    let link = w.challenged(&conv, "my orders").await;
    let cb = browser.sign_in(&link, "allow").await;
    let mut forged = cb.clone();
    let pairs: Vec<(String, String)> = cb
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "iss" {
                "https://evil.example".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let (s, _) = browser.open(forged.as_str()).await;
    assert_eq!(s, 400);
    assert!(
        w.events(&conv)
            .await
            .contains(&"state_rejected:issuer_mismatch".into())
    );
}

/// A code obtained through conversation B's link, delivered with A's
/// state: PKCE binds the code to B's verifier, so the exchange fails and A
/// gets no token (and a new link).
#[tokio::test]
async fn a_code_from_another_conversation_is_useless() {
    let w = World::start().await;
    let browser = Browser::new();
    let a = w.open(None).await;
    let b = w.open(None).await;
    let link_a = w.challenged(&a, "my orders").await;
    let link_b = w.challenged(&b, "my orders").await;
    let cb_b = browser.sign_in(&link_b, "allow").await;
    let mut spliced = cb_b.clone();
    let state_a = param(&link_a, "state").unwrap();
    let pairs: Vec<(String, String)> = cb_b
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                state_a.clone()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    spliced.query_pairs_mut().clear().extend_pairs(pairs);
    let (s, _) = browser.open(spliced.as_str()).await;
    assert_eq!(s, 502);
    assert_eq!(w.context(&a).await["access_token_present"], false);
    assert_eq!(w.context(&b).await["access_token_present"], false);
    assert!(w.tokens_seen().await.is_empty());
    let events = w.events(&a).await;
    assert!(events.contains(&"exchange_failed".into()), "{events:?}");
    assert!(w.last_bot(&a).await["link"].is_string(), "a new link for A");
}

#[tokio::test]
async fn the_same_callback_twice_concurrently_exchanges_once() {
    let w = World::start().await;
    let browser = Browser::new();
    let conv = w.open(None).await;
    let link = w.challenged(&conv, "my orders").await;
    let cb = browser.sign_in(&link, "allow").await;
    let (one, two) = tokio::join!(browser.open(cb.as_str()), browser.open(cb.as_str()));
    let mut statuses = [one.0, two.0];
    statuses.sort();
    assert_eq!(statuses, [200, 400], "{one:?} {two:?}");
    let friendly = if one.0 == 400 { &one.1 } else { &two.1 };
    assert!(friendly.contains("already been used"), "{friendly}");
    assert_eq!(w.idp.control().grants().codes[0].presented, 1);
    assert_eq!(w.tokens_seen().await.len(), 1, "one answer");
}

#[tokio::test]
async fn consumer_denies_consent() {
    let w = World::start().await;
    let browser = Browser::new();
    let conv = w.open(None).await;
    let link = w.challenged(&conv, "my orders").await;
    let cb = browser.sign_in(&link, "deny").await;
    assert_eq!(param(&cb, "error").as_deref(), Some("access_denied"));
    let (s, page) = browser.open(cb.as_str()).await;
    assert_eq!(s, 200);
    assert!(page.contains("did not allow"), "{page}");
    let msg = w.last_bot(&conv).await;
    assert!(
        msg["text"].as_str().unwrap().contains("did not allow"),
        "{msg}"
    );
    assert!(
        w.events(&conv)
            .await
            .contains(&"authorization_error".into())
    );
    // Asking again gives a fresh link.
    w.challenged(&conv, "my orders").await;
}

#[tokio::test]
async fn token_endpoint_failures_give_a_new_link_and_nothing_is_lost() {
    let w = World::start_with(PlatformOptions {
        http_timeout: Duration::from_millis(700),
        ..PlatformOptions::default()
    })
    .await;
    let browser = Browser::new();
    let conv = w.open(None).await;
    let mut link = w.challenged(&conv, "my orders").await;
    for fault in [
        Fault::Status {
            status: 503,
            body: r#"{"error":"temporarily_unavailable"}"#.into(),
            content_type: "application/json".into(),
        },
        Fault::MalformedJson,
        Fault::Delay { delay_ms: 3000 },
    ] {
        w.idp
            .control()
            .push_fault(Endpoint::Token, fault.clone(), 1)
            .unwrap();
        let cb = browser.sign_in(&link, "allow").await;
        let (s, page) = browser.open(cb.as_str()).await;
        assert_eq!(s, 502, "{fault:?}: {page}");
        assert!(page.contains("new link"), "{page}");
        let msg = w.last_bot(&conv).await;
        assert!(msg["text"].as_str().unwrap().contains("failed"), "{msg}");
        let next = url::Url::parse(msg["link"].as_str().unwrap()).unwrap();
        assert_ne!(param(&next, "state"), param(&link, "state"));
        link = next;
        assert_eq!(w.context(&conv).await["access_token_present"], false);
    }
    let events = w.events(&conv).await;
    assert_eq!(
        events.iter().filter(|e| *e == "exchange_failed").count(),
        3,
        "{events:?}"
    );
    // The pending integration survives: the new link completes it.
    browser.complete_sign_in(&link).await;
    assert!(
        w.last_bot(&conv).await["text"]
            .as_str()
            .unwrap()
            .starts_with("Your orders")
    );
}

#[tokio::test]
async fn expiry_on_the_shared_clock_rechallenges_without_refresh() {
    let w = World::start().await;
    let browser = Browser::new();
    let conv = w.open(None).await;
    let link = w.challenged(&conv, "my orders").await;
    browser.complete_sign_in(&link).await;
    let expires_at = w.context(&conv).await["access_token_expires_at"]
        .as_i64()
        .unwrap();
    assert!((expires_at - w.clock.now().unix_secs() - 300).abs() <= 2);

    w.clock.advance(Duration::from_secs(301));
    let reply = w.say(&conv, "my orders").await;
    assert!(
        reply["text"].as_str().unwrap().contains("expired"),
        "{reply}"
    );
    let link = url::Url::parse(reply["link"].as_str().unwrap()).unwrap();
    assert_eq!(
        w.tokens_seen().await.len(),
        1,
        "the expired token was not sent"
    );
    let events = w.events(&conv).await;
    assert!(events.contains(&"token_expired".into()), "{events:?}");
    assert!(events.contains(&"rechallenge:expired".into()), "{events:?}");

    browser.complete_sign_in(&link).await;
    let seen = w.tokens_seen().await;
    assert_eq!(seen.len(), 2);
    assert_ne!(seen[0], seen[1]);
    let grants = w.idp.control().grants();
    assert!(grants.refresh_tokens.iter().all(|r| r.presented == 0));
    assert!(
        grants
            .access_tokens
            .iter()
            .all(|a| a.grant != Grant::RefreshToken)
    );
}

#[tokio::test]
async fn api_401_rechallenges_403_and_5xx_report_and_keep_the_token() {
    let w = World::start().await;
    let browser = Browser::new();
    let conv = w.open(None).await;
    let link = w.challenged(&conv, "my orders").await;
    browser.complete_sign_in(&link).await;

    // 403 insufficient_scope on payments: reported once, no loop, token kept.
    Mock::given(method("POST"))
        .and(path("/api/payments"))
        .and(header_exists("idempotency-key"))
        .and(body_json(json!({"order_id": "1001", "amount": 4.5})))
        .respond_with(ResponseTemplate::new(403).insert_header(
            "www-authenticate",
            r#"Bearer error="insufficient_scope", scope="payments:write""#,
        ))
        .expect(1)
        .mount(&w.api)
        .await;
    let reply = w.say(&conv, "pay order 1001 amount 4.5").await;
    assert!(reply.get("link").is_none(), "{reply}");
    assert!(
        reply["text"].as_str().unwrap().contains("payments:write"),
        "{reply}"
    );
    assert_eq!(w.context(&conv).await["access_token_present"], true);

    // 503: reported, token kept.
    w.api.reset().await;
    Mock::given(method("GET"))
        .and(path("/api/orders"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&w.api)
        .await;
    let reply = w.say(&conv, "my orders").await;
    assert!(reply["text"].as_str().unwrap().contains("503"), "{reply}");
    assert!(reply.get("link").is_none());
    assert_eq!(w.context(&conv).await["access_token_present"], true);

    // 401 invalid_token: the token is dropped and the consumer re-challenged.
    w.api.reset().await;
    Mock::given(method("GET"))
        .and(path("/api/orders"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", r#"Bearer error="invalid_token""#),
        )
        .mount(&w.api)
        .await;
    let reply = w.say(&conv, "my orders").await;
    assert!(reply["link"].is_string(), "{reply}");
    assert_eq!(w.context(&conv).await["access_token_present"], false);
    let events = w.events(&conv).await;
    assert!(
        events.contains(&"rechallenge:invalid_token".into()),
        "{events:?}"
    );

    // A successful payment renders its answer.
    w.api.reset().await;
    crate::platform_support::orders_ok(&w.api).await;
    Mock::given(method("POST"))
        .and(path("/api/payments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "payment_id": "pay_1", "order_id": "1001", "amount": 4.5, "status": "captured"
        })))
        .mount(&w.api)
        .await;
    let link = url::Url::parse(reply["link"].as_str().unwrap()).unwrap();
    browser.complete_sign_in(&link).await;
    let reply = w.say(&conv, "pay order 1001 amount 4.5").await;
    assert_eq!(reply["text"], "Payment pay_1: captured.");
}

// ---------------------------------------------------------------------
// Against oidc-provider, the OpenID-certified Node.js provider, configured
// as a brand IdP (tests/peers/oidc-provider): the platform was not written
// against it, so these say whether it works with an IdP it has never met.

mod peer {
    use serde_json::{Value, json};
    use standin::clock::Clock;
    use standin::conformance::agent::{ConsumerAgent, FormHints, Landing};
    use standin::platform::{Platform, PlatformOptions};
    use standin::stack::{Brand, BrandOptions, IdpChoice};
    use url::Url;

    use crate::platform_support::oidc_provider::Peer;
    use crate::platform_support::{CLIENT_ID, CLIENT_SECRET, Chat, fixtures, orders_ok};

    /// The credential's link: oidc-provider's authorization endpoint.
    fn credential_url(issuer: &str, redirect_uri: &str) -> String {
        let mut u = Url::parse(&format!("{issuer}/auth")).unwrap();
        u.query_pairs_mut()
            .append_pair("client_id", CLIENT_ID)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid profile orders:read");
        u.to_string()
    }

    /// The consumer opens the link, signs in as alice on oidc-provider's
    /// login page, allows on its consent page; the browser then follows
    /// the redirect to the platform, which must answer 200.
    async fn sign_in(link: &Url, base: &str) {
        let mut agent = ConsumerAgent::new(FormHints::default()).unwrap();
        agent.stop_at(format!("{base}/callback/"));
        let mut landing = agent.open(link).await.unwrap();
        for _ in 0..4 {
            let page = match &landing {
                Landing::Redirected(_) => break,
                Landing::Page(page) => page.clone(),
            };
            landing = if page.login_form(agent.hints()).unwrap().is_some() {
                agent
                    .sign_in(&page, "alice", "alice-password")
                    .await
                    .unwrap()
            } else {
                agent.allow_consent(&page).await.unwrap()
            };
        }
        let Landing::Redirected(callback) = landing else {
            panic!(
                "oidc-provider did not send the consumer back: {}",
                landing.describe()
            );
        };
        assert_eq!(
            callback.get("iss").map(str::to_string),
            Some(link.origin().ascii_serialization())
        );
        let page = reqwest::get(callback.url.clone()).await.unwrap();
        let status = page.status();
        let text = page.text().await.unwrap();
        assert_eq!(status, 200, "the platform's callback page: {text}");
    }

    /// The platform's client as oidc-provider knows it.
    fn client(base: &str, extra: Value) -> Value {
        let mut c = json!({
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [format!("{base}/callback/demo/redirectCode")],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
        });
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    }

    /// The platform, on `clock`, for the brand API at `api` and `peer` as
    /// the organisation's IdP: its client registered there (with `extra`
    /// metadata), its Consumer Authentication credential pointing there.
    async fn platform_for(peer: &Peer, api: &str, clock: Clock, extra: Value) -> (Platform, Chat) {
        let platform = Platform::start_with(
            fixtures(&peer.issuer, api),
            PlatformOptions {
                clock,
                ..PlatformOptions::default()
            },
        )
        .await
        .unwrap();
        let base = platform.url().to_string();
        peer.register(client(&base, extra)).await;
        platform
            .state()
            .add_consumer_auth(
                "demo",
                "brand-login",
                &credential_url(&peer.issuer, &format!("{base}/callback/demo/redirectCode")),
            )
            .unwrap();
        let chat = Chat {
            http: reqwest::Client::new(),
            base,
        };
        (platform, chat)
    }

    /// RS256 ID tokens, RFC 9068 JWT access tokens that the real brand
    /// API checks against oidc-provider's JWKS, a refresh token (dropped),
    /// client_secret_basic, RFC 9207 `iss`.
    #[tokio::test]
    async fn the_chat_flow_works_against_oidc_provider() {
        let peer = Peer::start("plain");
        // The brand side with an external IdP: the brand API trusts it.
        let brand = Brand::start(BrandOptions {
            idp: IdpChoice::External {
                issuer: peer.issuer.clone(),
            },
            ..BrandOptions::default()
        })
        .await
        .unwrap();
        assert!(brand.idp.is_none());
        let extra = json!({"token_endpoint_auth_method": "client_secret_basic", "access_token_audience": "brand-api"});
        let (_platform, chat) =
            platform_for(&peer, brand.api.url(), brand.clock.clone(), extra).await;
        let conv = chat.open(Some("alice-1")).await;
        let link = chat.challenged(&conv, "my orders").await;
        sign_in(&link, &chat.base).await;
        assert_eq!(
            chat.last_bot(&conv).await["text"],
            "Your orders: 1001 (delivered); 1002 (shipped); 1003 (awaiting_payment)"
        );
        let events = chat.events(&conv).await;
        for expected in [
            "exchange_done",
            "id_token_validated",
            "refresh_token_dropped",
            "token_stored",
        ] {
            assert!(
                events.iter().any(|e| e == expected),
                "no {expected} in {events:?}"
            );
        }
        assert!(
            !events
                .iter()
                .any(|e| e.starts_with("token_response_departure")),
            "oidc-provider's token response is standard: {events:?}"
        );
        // The stored token serves the next question.
        let reply = chat.say(&conv, "my orders").await;
        assert!(reply.get("link").is_none(), "{reply}");
    }

    /// Opaque access tokens in the plain configuration: the real brand API
    /// checks them at oidc-provider's introspection endpoint, with HTTP
    /// Basic as its discovery allows (the unusual configuration, in the
    /// delegation suite's profile run, covers the body method).
    #[tokio::test]
    async fn the_brand_api_introspects_oidc_providers_opaque_tokens_with_basic() {
        use standin::brand_api::BrandApiOptions;
        use standin::brand_api::introspection::IntrospectionClient;
        use standin::secret::Secret;
        let peer = Peer::start("plain");
        let mut api = BrandApiOptions::new("");
        api.introspection = Some(IntrospectionClient {
            client_id: CLIENT_ID.into(),
            client_secret: Secret::new(CLIENT_SECRET),
        });
        let brand = Brand::start(BrandOptions {
            idp: IdpChoice::External {
                issuer: peer.issuer.clone(),
            },
            api,
            ..BrandOptions::default()
        })
        .await
        .unwrap();
        // No access_token_audience: this client's access tokens are opaque.
        let extra = json!({"token_endpoint_auth_method": "client_secret_basic"});
        let (_platform, chat) =
            platform_for(&peer, brand.api.url(), brand.clock.clone(), extra).await;
        let conv = chat.open(Some("alice-1")).await;
        let link = chat.challenged(&conv, "my orders").await;
        sign_in(&link, &chat.base).await;
        assert_eq!(
            chat.last_bot(&conv).await["text"],
            "Your orders: 1001 (delivered); 1002 (shipped); 1003 (awaiting_payment)"
        );
        let log = brand.api.control().requests();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].status, 200);
    }

    /// Legal but unusual: ES256 ID tokens, opaque access tokens, no refresh
    /// token, and only client_secret_post advertised (the platform reads
    /// it from discovery; nothing in its settings says so).
    #[tokio::test]
    async fn the_chat_flow_works_against_an_unusual_oidc_provider() {
        let peer = Peer::start("unusual");
        let api = wiremock::MockServer::start().await;
        orders_ok(&api).await;
        let extra = json!({"grant_types": ["authorization_code"]});
        let (_platform, chat) = platform_for(&peer, &api.uri(), Clock::new(), extra).await;
        let conv = chat.open(None).await;
        let link = chat.challenged(&conv, "my orders").await;
        sign_in(&link, &chat.base).await;
        assert_eq!(
            chat.last_bot(&conv).await["text"],
            "Your orders: 1001 (shipped); 1002 (pending)"
        );
        let events = chat.events(&conv).await;
        assert!(
            events.iter().any(|e| e == "id_token_validated"),
            "{events:?}"
        );
        assert!(
            !events.iter().any(|e| e == "refresh_token_dropped"),
            "{events:?}"
        );
        // The opaque token went to the API as a bearer token.
        let seen = api.received_requests().await.unwrap();
        let auth = seen[0]
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            auth.starts_with("Bearer ") && auth.matches('.').count() != 2,
            "{auth}"
        );
    }
}
