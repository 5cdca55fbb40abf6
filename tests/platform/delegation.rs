//! The consumer-delegation flow against what the Gherkin suite of
//! `features/delegation/` does not reach: the body and headers of a
//! payment the dialog sends and the answer it renders, and the whole flow
//! against oidc-provider, an IdP the platform was not written against.

use crate::platform_support::World;
use serde_json::json;
use wiremock::matchers::{body_json, header_exists, method, path};
use wiremock::{Mock, ResponseTemplate};

/// The payment dialog's integration sends an `Idempotency-Key` header and
/// the amount as a JSON number (`{{amount:number}}`); a 403
/// `insufficient_scope` to it is reported without a new link, and a 201 is
/// rendered with the dialog's answer template.
#[tokio::test]
async fn a_payment_sends_its_idempotency_key_and_a_numeric_amount_and_its_answer_is_rendered() {
    let w = World::start().await;
    let chat = w.chat();
    let conv = chat.open("demo", None).await.unwrap();
    let link = chat.ask_for_link(&conv, "my orders").await.unwrap();
    let back = w
        .consumer()
        .sign_in_through(&link.0, "alice", "alice-password", true)
        .await
        .unwrap();
    let page = w.consumer().return_to(back.as_str()).await.unwrap();
    assert_eq!(page.status, 200, "{page:?}");

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
    let reply = chat.say(&conv, "pay order 1001 amount 4.5").await.unwrap();
    assert!(reply.link.is_none(), "{reply:?}");
    assert!(reply.text.contains("payments:write"), "{reply:?}");
    assert!(chat.holds_token(&conv).await.unwrap());

    w.api.reset().await;
    Mock::given(method("POST"))
        .and(path("/api/payments"))
        .and(header_exists("idempotency-key"))
        .and(body_json(json!({"order_id": "1001", "amount": 4.5})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "payment_id": "pay_1", "order_id": "1001", "amount": 4.5, "status": "captured"
        })))
        .expect(1)
        .mount(&w.api)
        .await;
    let reply = chat.say(&conv, "pay order 1001 amount 4.5").await.unwrap();
    assert_eq!(reply.text, "Payment pay_1: captured.");
}

// ---------------------------------------------------------------------
// Against oidc-provider, the OpenID-certified Node.js provider, configured
// as a brand IdP (tests/peers/oidc-provider): the platform was not written
// against it, so these say whether it works with an IdP it has never met.

mod peer {
    use serde_json::{Value, json};
    use standin::clock::Clock;
    use standin::conformance::FormHints;
    use standin::platform::{Platform, PlatformOptions};
    use standin::stack::{Brand, BrandOptions, IdpChoice};
    use url::Url;

    use crate::drivers::{Chat, Consumer, Link};
    use crate::platform_support::oidc_provider::Peer;
    use crate::platform_support::{CLIENT_ID, CLIENT_SECRET, fixtures, orders_ok};

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
    async fn sign_in(link: &Link, base: &str) {
        let mut consumer =
            Consumer::new(FormHints::default(), &format!("{base}/callback/")).unwrap();
        let back = consumer
            .sign_in_through(&link.0, "alice", "alice-password", true)
            .await
            .expect("oidc-provider sends the consumer back");
        assert_eq!(
            back.param("iss"),
            Some(link.0.origin().ascii_serialization())
        );
        let page = consumer.return_to(back.as_str()).await.unwrap();
        assert_eq!(page.status, 200, "the platform's callback page: {page:?}");
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
        let chat = Chat::new(crate::drivers::http_client().unwrap(), &base);
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
        let conv = chat.open("demo", Some("alice-1")).await.unwrap();
        let link = chat.ask_for_link(&conv, "my orders").await.unwrap();
        sign_in(&link, chat.base()).await;
        assert_eq!(
            chat.last_bot(&conv).await.unwrap().text,
            "Your orders: 1001 (delivered); 1002 (shipped); 1003 (awaiting_payment)"
        );
        let events = chat.event_names(&conv).await.unwrap();
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
        let reply = chat.say(&conv, "my orders").await.unwrap();
        assert!(reply.link.is_none(), "{reply:?}");
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
        let conv = chat.open("demo", Some("alice-1")).await.unwrap();
        let link = chat.ask_for_link(&conv, "my orders").await.unwrap();
        sign_in(&link, chat.base()).await;
        assert_eq!(
            chat.last_bot(&conv).await.unwrap().text,
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
        let conv = chat.open("demo", None).await.unwrap();
        let link = chat.ask_for_link(&conv, "my orders").await.unwrap();
        sign_in(&link, chat.base()).await;
        assert_eq!(
            chat.last_bot(&conv).await.unwrap().text,
            "Your orders: 1001 (shipped); 1002 (pending)"
        );
        let events = chat.event_names(&conv).await.unwrap();
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
