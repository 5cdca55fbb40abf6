//! The world of a platform test: a real mock IdP, a wiremock brand API, and
//! the platform, all on free ports and sharing one clock. Tests drive the
//! platform and the consumer's browser through `tests/drivers/`.
#![allow(dead_code)]

use serde_json::json;
use standin::clock::Clock;
use standin::idp::{ClientConfig, Fixtures, IdpOptions, MockIdp};
use standin::platform::{Platform, PlatformFixtures, PlatformOptions};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::drivers::{Chat, Consumer};
use standin::conformance::FormHints;

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
        Chat::new(self.http.clone(), self.platform.url())
    }

    /// A URL on the platform.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.platform.url())
    }

    /// A consumer's browser with an empty cookie jar, that stops at the
    /// platform's callbacks.
    pub fn consumer(&self) -> Consumer {
        Consumer::new(
            FormHints::default(),
            &format!("{}/callback/", self.platform.url()),
        )
        .expect("a browser")
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

/// The Consumer Authentication credential's URL: the IdP's authorization
/// endpoint with the platform's client and demo's callback.
pub fn credential_url(issuer: &str, platform: &str) -> String {
    let redirect_uri = format!("{platform}/callback/demo/redirectCode");
    let mut u = Url::parse(&format!("{issuer}/authorize")).unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair(
            "scope",
            "openid profile offline_access orders:read payments:write",
        );
    u.to_string()
}
