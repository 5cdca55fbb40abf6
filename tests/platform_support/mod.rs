//! The world of a platform test: a real mock IdP, a wiremock brand API, and
//! the platform, all on free ports and sharing one clock; plus a consumer's
//! browser (cookies on, redirects off) that signs in through the IdP's forms.
#![allow(dead_code)]

use std::time::Duration;

use serde_json::{Value, json};
use standin::clock::Clock;
use standin::idp::{ClientConfig, Fixtures, IdpOptions, MockIdp};
use standin::platform::{Platform, PlatformFixtures, PlatformOptions};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::first_form;

pub mod oidc_provider;

pub const CLIENT_ID: &str = "platform-bot";
pub const CLIENT_SECRET: &str = "platform-bot-secret";

pub struct World {
    pub clock: Clock,
    pub idp: MockIdp,
    pub api: MockServer,
    pub platform: Platform,
    /// The platform's API client.
    pub http: reqwest::Client,
}

/// Platform fixtures: org `demo` on `issuer`, a bot whose dialogs call `api`.
pub fn fixtures(issuer: &str, api: &str) -> PlatformFixtures {
    let toml = format!(
        r#"
[[orgs]]
id = "demo"
[orgs.provider]
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"

[[orgs]]
id = "other"
[orgs.provider]
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"

[[bots]]
id = "demo-bot"
fallback = "Say my orders."

[[bots.dialogs]]
name = "my-orders"
triggers = ["my orders"]
[bots.dialogs.integration]
name = "list-orders"
method = "GET"
url = "{api}/api/orders"
credential = "brand-login"
[bots.dialogs.answer]
text = "Your orders: {{list}}"
list = "/orders"
item = "{{/id}} ({{/status}})"

[[bots.dialogs]]
name = "pay-order"
triggers = ["pay order {{order_id}} amount {{amount}}"]
[bots.dialogs.integration]
name = "pay"
method = "POST"
url = "{api}/api/payments"
credential = "brand-login"
headers = {{ Idempotency-Key = "{{idempotency_key}}" }}
body = {{ order_id = "{{order_id}}", amount = "{{amount:number}}" }}
[bots.dialogs.answer]
text = "Payment {{/payment_id}}: {{/status}}."
"#
    );
    PlatformFixtures::from_toml(&toml, "test fixtures").expect("test fixtures parse")
}

pub async fn orders_ok(api: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/orders"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "orders": [
                {"id": "1001", "items": ["tea"], "total": 4.5, "status": "shipped"},
                {"id": "1002", "items": ["cake"], "total": 3.0, "status": "pending"}
            ]
        })))
        .mount(api)
        .await;
}

impl World {
    pub async fn start() -> World {
        Self::start_with(PlatformOptions::default()).await
    }

    pub async fn start_with(options: PlatformOptions) -> World {
        let clock = Clock::new();
        let idp = MockIdp::start_with(
            Fixtures::default_brand(),
            IdpOptions {
                clock: clock.clone(),
                ..IdpOptions::default()
            },
        )
        .await
        .expect("IdP starts");
        let api = MockServer::start().await;
        orders_ok(&api).await;
        let platform = Platform::start_with(
            fixtures(idp.issuer(), &api.uri()),
            PlatformOptions {
                clock: clock.clone(),
                ..options
            },
        )
        .await
        .expect("platform starts");
        let base = platform.url().to_string();
        let client: ClientConfig = serde_json::from_value(json!({
            "id": CLIENT_ID,
            "secret": CLIENT_SECRET,
            "redirect_uris": [
                format!("{base}/callback/demo/redirectCode"),
                format!("{base}/callback/demo/redirectedCode"),
                format!("{base}/callback/other/redirectedCode"),
            ],
            "scopes": ["openid", "profile", "email", "offline_access", "orders:read", "payments:write"],
            "consent": true,
            "access_token_ttl_secs": 300,
        }))
        .expect("client config");
        idp.control().add_client(client).expect("client added");
        platform
            .state()
            .add_consumer_auth("demo", "brand-login", &credential_url(idp.issuer(), &base))
            .expect("credential valid");
        World {
            clock,
            idp,
            api,
            platform,
            http: reqwest::Client::new(),
        }
    }

    /// The platform's conversation API.
    pub fn chat(&self) -> Chat {
        Chat {
            http: self.http.clone(),
            base: self.platform.url().to_string(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.chat().url(path)
    }

    pub async fn open(&self, consumer: Option<&str>) -> String {
        self.chat().open(consumer).await
    }

    pub async fn open_in(&self, org: &str, consumer: Option<&str>) -> String {
        self.chat().open_in(org, consumer).await
    }

    /// Post a message; the bot's one reply.
    pub async fn say(&self, conv: &str, text: &str) -> Value {
        self.chat().say(conv, text).await
    }

    /// Post a message that must be answered with a link; the link.
    pub async fn challenged(&self, conv: &str, text: &str) -> Url {
        self.chat().challenged(conv, text).await
    }

    pub async fn get_json(&self, path: &str) -> Value {
        self.chat().get_json(path).await
    }

    pub async fn events(&self, conv: &str) -> Vec<String> {
        self.chat().events(conv).await
    }

    pub async fn context(&self, conv: &str) -> Value {
        self.chat().context(conv).await
    }

    /// The last bot message of the transcript.
    pub async fn last_bot(&self, conv: &str) -> Value {
        self.chat().last_bot(conv).await
    }

    /// Bearer tokens the brand API received, in order.
    pub async fn tokens_seen(&self) -> Vec<String> {
        self.api
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter_map(|r| r.headers.get("authorization"))
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.trim_start_matches("Bearer ").to_string())
            .collect()
    }
}

pub fn credential_url(issuer: &str, platform: &str) -> String {
    credential_url_for(issuer, &format!("{platform}/callback/demo/redirectCode"))
}

pub fn credential_url_for(issuer: &str, redirect_uri: &str) -> String {
    let mut u = Url::parse(&format!("{issuer}/authorize")).unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair(
            "scope",
            "openid profile offline_access orders:read payments:write",
        );
    u.to_string()
}

/// A consumer's browser.
pub struct Browser {
    pub http: reqwest::Client,
}

impl Browser {
    pub fn new() -> Self {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        }
    }

    /// Open the link, sign in as alice, answer consent with `decision`;
    /// the redirect back to the platform (not followed).
    pub async fn sign_in(&self, link: &Url, decision: &str) -> Url {
        let origin = link.origin().ascii_serialization();
        let mut response = self.http.get(link.clone()).send().await.unwrap();
        for _ in 0..4 {
            if response.status() == reqwest::StatusCode::SEE_OTHER
                || response.status() == reqwest::StatusCode::FOUND
            {
                let location = response.headers()[reqwest::header::LOCATION]
                    .to_str()
                    .unwrap();
                return Url::parse(location).unwrap();
            }
            assert_eq!(response.status(), 200);
            let html = response.text().await.unwrap();
            let form = first_form(&html).unwrap_or_else(|| panic!("no form:\n{html}"));
            let mut fields = vec![
                ("txn".to_string(), form.inputs["txn"].clone()),
                ("csrf".to_string(), form.inputs["csrf"].clone()),
            ];
            match form.action.as_str() {
                "/login" => {
                    fields.push(("username".into(), "alice".into()));
                    fields.push(("password".into(), "alice-password".into()));
                }
                "/consent" => fields.push(("decision".into(), decision.into())),
                other => panic!("unexpected form {other}"),
            }
            response = self
                .http
                .post(format!("{origin}{}", form.action))
                .form(&fields)
                .send()
                .await
                .unwrap();
        }
        panic!("no redirect back to the platform");
    }

    /// Deliver a callback URL; status and page text.
    /// Sign in, allow, and follow the redirect to the platform, whose
    /// callback page must answer 200.
    pub async fn complete_sign_in(&self, link: &Url) {
        let callback = self.sign_in(link, "allow").await;
        let (status, page) = self.open(callback.as_str()).await;
        assert_eq!(status, 200, "{page}");
    }

    pub async fn open(&self, url: &str) -> (u16, String) {
        let r = self.http.get(url).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

/// A query parameter of a URL.
pub fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The platform's conversation API at `base`, whatever IdP it uses.
pub struct Chat {
    pub http: reqwest::Client,
    pub base: String,
}

impl Chat {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn open(&self, consumer: Option<&str>) -> String {
        self.open_in("demo", consumer).await
    }

    pub async fn open_in(&self, org: &str, consumer: Option<&str>) -> String {
        let r = self
            .http
            .post(self.url("/api/conversations"))
            .json(&json!({"org": org, "bot": "demo-bot", "consumer_id": consumer}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Post a message; the bot's one reply.
    pub async fn say(&self, conv: &str, text: &str) -> Value {
        let r = self
            .http
            .post(self.url(&format!("/api/conversations/{conv}/messages")))
            .json(&json!({ "text": text }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
        let body: Value = r.json().await.unwrap();
        body["replies"][0].clone()
    }

    /// Post a message that must be answered with a link; the link.
    pub async fn challenged(&self, conv: &str, text: &str) -> Url {
        let reply = self.say(conv, text).await;
        let link = reply["link"]
            .as_str()
            .unwrap_or_else(|| panic!("expected a link, got {reply}"));
        Url::parse(link).unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn events(&self, conv: &str) -> Vec<String> {
        let v = self
            .get_json(&format!("/api/conversations/{conv}/events"))
            .await;
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let kind = e["kind"].as_str().unwrap();
                match e.get("reason").and_then(Value::as_str) {
                    Some(r) if kind != "exchange_failed" => format!("{kind}:{r}"),
                    _ => kind.to_string(),
                }
            })
            .collect()
    }

    pub async fn context(&self, conv: &str) -> Value {
        self.get_json(&format!("/api/conversations/{conv}/context"))
            .await
    }

    /// The last bot message of the transcript.
    pub async fn last_bot(&self, conv: &str) -> Value {
        let t = self
            .get_json(&format!("/api/conversations/{conv}/transcript"))
            .await;
        t["messages"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m["from"] == "bot")
            .cloned()
            .expect("a bot message")
    }
}
