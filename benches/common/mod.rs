//! What the in-process benches share: the three parties on free loopback
//! ports with the platform's fixtures (org `demo`, bot `demo-bot` whose
//! "my orders" needs the Consumer Authentication credential
//! `brand-login`), the platform's client registered at the IdP.
#![allow(dead_code)]

use standin::platform::{PlatformFixtures, PlatformOptions};
use standin::stack::{Brand, BrandOptions, Stack};

pub const CLIENT_ID: &str = "bench-bot";
pub const CLIENT_SECRET: &str = "bench-bot-secret";

pub fn platform_fixtures(issuer: &str, api: &str) -> PlatformFixtures {
    let toml = format!(
        r#"
[[orgs]]
id = "demo"
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
headers = {{ Accept = "application/json" }}
[bots.dialogs.answer]
text = "Your orders: {{list}}"
list = "/orders"
item = "{{/id}} ({{/status}}, total {{/total}})"
empty = "you have no orders"
"#
    );
    PlatformFixtures::from_toml(&toml, "bench fixtures").expect("bench fixtures parse")
}

/// The three parties, as `standin up` wires them, on free ports; the
/// fixtures' demo-bot with this platform's callback and its credential.
pub async fn start() -> Stack {
    let brand = Brand::start(BrandOptions::default())
        .await
        .expect("brand side starts");
    let stack = brand
        .with_platform(PlatformOptions::default(), |urls| {
            platform_fixtures(&urls.issuer, &urls.api)
        })
        .await
        .expect("platform starts");
    stack
        .register_platform_client(CLIENT_ID, CLIENT_SECRET, &["demo"])
        .expect("client added");
    let link = stack.consumer_auth_link(
        "demo",
        CLIENT_ID,
        "openid profile orders:read payments:write",
    );
    stack
        .platform
        .state()
        .add_consumer_auth("demo", "brand-login", &link)
        .expect("credential valid");
    stack
}
