//! The vault console (document 004's Bot Accounts screens) in real
//! headless Chromium: the admin token asked once, each credential type
//! added through its form (the documents' `keytool` key store uploaded,
//! TLS 1.1 refused beside its field), Authorize for the OAuth 2.0 kinds,
//! and deleting a credential in use, by keyboard.

use fantoccini::{Client, Locator};
use serde_json::json;
use standin::clock::Clock;
use standin::conform::chromium::Driver;
use standin::idp::{ClientConfig, Fixtures, IdpOptions, MockIdp};
use standin::platform::{Platform, PlatformFixtures, PlatformOptions};

use super::{browser, check_page, press, screenshot, text_of, type_into, until_text};

/// The organisation's admin token; never shown by any page.
const ADMIN_TOKEN: &str = "acme-admin-token-canary";
/// Secrets entered through the forms; never shown by any page.
const CANARIES: [&str; 5] = [
    ADMIN_TOKEN,
    "basic-password-canary",
    "access-token-canary",
    "code-client-secret-canary",
    "cc-client-secret-canary",
];

struct Console {
    idp: MockIdp,
    platform: Platform,
}

impl Console {
    /// An IdP, and a platform whose organisation `acme` has an admin token
    /// and a bot whose integration uses credential `brand-basic`.
    async fn start() -> Console {
        // Frozen: the list's "expires in 5 minutes" does not depend on how
        // long the machine takes.
        let clock = Clock::frozen();
        let idp = MockIdp::start_with(
            Fixtures::default_brand(),
            IdpOptions {
                clock: clock.clone(),
                ..IdpOptions::default()
            },
        )
        .await
        .expect("IdP starts");
        let toml = format!(
            r#"
[[orgs]]
id = "acme"
admin_token = "{ADMIN_TOKEN}"
[orgs.provider]
issuer = "{issuer}"
client_id = "platform-bot"
client_secret = "platform-bot-secret"

[[bots]]
id = "orders-bot"
[[bots.dialogs]]
name = "my-orders"
triggers = ["my orders"]
[bots.dialogs.integration]
name = "list-orders"
method = "GET"
url = "http://127.0.0.1:9/api/orders"
credential = "brand-basic"
[bots.dialogs.answer]
text = "Your orders."
"#,
            issuer = idp.issuer()
        );
        let platform = Platform::start_with(
            PlatformFixtures::from_toml(&toml, "console fixtures").expect("fixtures parse"),
            PlatformOptions {
                clock,
                ..PlatformOptions::default()
            },
        )
        .await
        .expect("platform starts");
        let callback = format!("{}/oauth2/callback", platform.url());
        for (id, grants) in [
            (
                "console-code",
                json!(["authorization_code", "refresh_token"]),
            ),
            ("console-cc", json!(["client_credentials"])),
        ] {
            let client: ClientConfig = serde_json::from_value(json!({
                "id": id,
                "secret": if id == "console-code" { CANARIES[3] } else { CANARIES[4] },
                "redirect_uris": [callback],
                "grant_types": grants,
                "scopes": ["openid", "orders:read"],
                "consent": true,
                "access_token_ttl_secs": 300,
            }))
            .unwrap();
            idp.control().add_client(client).unwrap();
        }
        Console { idp, platform }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.platform.url())
    }
}

/// Sign in with the organisation's admin token.
async fn enter_admin_token(client: &Client, console: &Console) {
    client
        .goto(&console.url("/console/orgs/acme"))
        .await
        .unwrap();
    type_into(client, Locator::Css("#admin_token"), ADMIN_TOKEN).await;
    press(client, Locator::XPath("//button[.='Continue']")).await;
    if client
        .wait()
        .for_element(Locator::XPath("//h2[.='Credentials']"))
        .await
        .is_err()
    {
        panic!(
            "no credential list after the admin token: {}",
            client.source().await.unwrap_or_default()
        );
    }
}

/// Chromium signed in to the console, on the form of a new OAuth 2.0 code
/// credential `brand-oauth` (the driver must outlive the client).
async fn add_code_credential_form(console: &Console) -> (Driver, Client) {
    let driver = Driver::start().await.expect("chromedriver");
    let client = browser(&driver).await;
    enter_admin_token(&client, console).await;
    choose(&client, console, "brand-oauth", "oauth2_authorization_code").await;
    (driver, client)
}

/// The fields of the OAuth 2.0 code credential `brand-oauth` at the brand
/// whose endpoints these are (client `console-code`).
async fn fill_code_credential(client: &Client, auth_url: &str, token_url: &str) {
    type_into(client, Locator::Css("#f-client_id"), "console-code").await;
    type_into(client, Locator::Css("#f-client_secret"), CANARIES[3]).await;
    type_into(client, Locator::Css("#f-scope"), "openid orders:read").await;
    type_into(client, Locator::Css("#f-auth_url"), auth_url).await;
    type_into(client, Locator::Css("#f-token_url"), token_url).await;
}

/// Authorize, then at the brand's pages: sign in as alice and allow.
async fn authorize_as_alice(client: &Client) {
    press(client, Locator::XPath("//button[.='Authorize']")).await;
    type_into(client, Locator::Css("input[name=username]"), "alice").await;
    type_into(
        client,
        Locator::Css("input[name=password]"),
        "alice-password\n",
    )
    .await;
    press(client, Locator::Css("button[value=allow]")).await;
}

/// Step one of Add credential: the name and the type, then Next.
async fn choose(client: &Client, console: &Console, name: &str, type_name: &str) {
    client
        .goto(&console.url("/console/orgs/acme/new"))
        .await
        .unwrap();
    type_into(client, Locator::Css("#f-name"), name).await;
    client
        .find(Locator::Css("#f-type"))
        .await
        .unwrap()
        .select_by_value(type_name)
        .await
        .unwrap();
    press(client, Locator::XPath("//button[.='Next']")).await;
    client
        .wait()
        .for_element(Locator::Css("input[name=type]"))
        .await
        .expect("the type's form");
}

/// Press the form's button labelled `label`, and wait for the list to
/// say the credential was saved.
async fn save(client: &Client, label: &str, name: &str) {
    press(client, Locator::XPath(&format!("//button[.='{label}']"))).await;
    let notice = text_of(client, Locator::Css(".notice")).await;
    assert_eq!(notice, format!("Credential {name} was saved."));
}

fn fixture(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/mtls")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[tokio::test]
async fn each_credential_type_through_its_form_and_a_credential_in_use_deleted_by_keyboard() {
    let console = Console::start().await;
    let driver = Driver::start().await.expect("chromedriver");
    let client = browser(&driver).await;

    // The organisations; then acme asks for its admin token, once.
    client.goto(&console.url("/console")).await.unwrap();
    check_page(&client, &CANARIES).await;
    screenshot(&client, "console-organisations").await;
    press(&client, Locator::LinkText("acme")).await;
    type_into(&client, Locator::Css("#admin_token"), "not-the-token").await;
    press(&client, Locator::XPath("//button[.='Continue']")).await;
    let refused = text_of(&client, Locator::Css("#admin_token-error")).await;
    assert!(
        refused.contains("not the organisation's admin token"),
        "{refused}"
    );
    check_page(&client, &CANARIES).await;
    screenshot(&client, "console-admin-token").await;
    enter_admin_token(&client, &console).await;
    // Given once: the next page does not ask again.
    client
        .goto(&console.url("/console/orgs/acme/new"))
        .await
        .unwrap();
    check_page(&client, &CANARIES).await;
    screenshot(&client, "console-add-choose-type").await;

    // Basic Authentication.
    choose(&client, &console, "brand-basic", "basic_authentication").await;
    type_into(&client, Locator::Css("#f-username"), "bot").await;
    type_into(&client, Locator::Css("#f-password"), CANARIES[1]).await;
    save(&client, "Save", "brand-basic").await;

    // Access Token.
    choose(&client, &console, "fixed-token", "access_token").await;
    type_into(&client, Locator::Css("#f-token"), CANARIES[2]).await;
    type_into(&client, Locator::Css("#f-token_type"), "Bearer").await;
    save(&client, "Save", "fixed-token").await;

    // Consumer Authentication: the page shows the callback to put in the link.
    choose(&client, &console, "brand-login", "consumer_authentication").await;
    let callback = client
        .find(Locator::Css("#shown-uri"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(callback, console.url("/callback/acme/redirectCode"));
    let link = format!(
        "{}/authorize?client_id=platform-bot&response_type=code&redirect_uri={}&scope=openid",
        console.idp.issuer(),
        callback
    );
    type_into(&client, Locator::Css("#f-url"), &link).await;
    save(&client, "Save", "brand-login").await;

    // Consumer Pre-Authentication: no fields.
    choose(&client, &console, "pre-auth", "consumer_pre_authentication").await;
    save(&client, "Save", "pre-auth").await;

    // Third-party NLU: a Dialogflow service-account key, pasted.
    choose(&client, &console, "dialogflow", "third_party_nlu").await;
    client
        .find(Locator::Css("#f-provider"))
        .await
        .unwrap()
        .select_by_value("google_dialogflow")
        .await
        .unwrap();
    let (key, _) = standin::idp::service_accounts::generate_rsa_key().unwrap();
    let key_file = json!({
        "type": "service_account",
        "project_id": "travel-bot",
        "private_key_id": "k1",
        "private_key": key.expose(),
        "client_email": "trainer@travel-bot.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    type_into(
        &client,
        Locator::Css("#f-credentials"),
        &key_file.to_string(),
    )
    .await;
    save(&client, "Save", "dialogflow").await;

    // Mutual Authentication: the documents' keytool key store; TLS 1.1
    // is refused beside its field, and nothing is lost but the upload and
    // the password, which the page asks for again.
    choose(&client, &console, "brand-mtls", "mutual_authentication").await;
    let upload = |client: Client| async move {
        client
            .find(Locator::Css("#f-key_store"))
            .await
            .unwrap()
            .send_keys(&fixture("cb-mtls-server.p12"))
            .await
            .unwrap();
        type_into(&client, Locator::Css("#f-key_store_password"), "changeit").await;
    };
    upload(client.clone()).await;
    press(&client, Locator::Css("#f-tls_versions-0")).await;
    press(&client, Locator::Css("#f-tls_versions-1")).await;
    press(&client, Locator::XPath("//button[.='Save']")).await;
    let refusal = text_of(&client, Locator::Css("#f-tls_versions-error")).await;
    assert!(
        refusal.contains("TLS 1.0 and 1.1 are deprecated (RFC 8996)"),
        "{refusal}"
    );
    assert!(
        text_of(&client, Locator::Css(".problem"))
            .await
            .contains("enter them again")
    );
    check_page(&client, &[CANARIES[0], "changeit"]).await;
    screenshot(&client, "console-mtls-refused").await;
    // TLS 1.2 stayed checked; uncheck 1.1, upload again, save.
    let checked = |i: usize| {
        let client = client.clone();
        async move {
            client
                .find(Locator::Css(&format!("#f-tls_versions-{i}")))
                .await
                .unwrap()
                .prop("checked")
                .await
                .unwrap()
        }
    };
    assert_eq!(checked(1).await.as_deref(), Some("true"));
    press(&client, Locator::Css("#f-tls_versions-0")).await;
    upload(client.clone()).await;
    // The brand API's certificate as the trust certificate, in PEM.
    client
        .find(Locator::Css("#f-trust_certificate"))
        .await
        .unwrap()
        .send_keys(&fixture("brand-server.pem"))
        .await
        .unwrap();
    save(&client, "Save", "brand-mtls").await;
    let acme = standin::platform::org::OrgId::parse("acme").unwrap();
    let saved = console
        .platform
        .state()
        .vault
        .get(&acme, "brand-mtls")
        .unwrap()
        .view();
    assert_eq!(saved["trust_certificate_file_name"], "brand-server.pem");
    assert_eq!(saved["key_store_file_name"], "cb-mtls-server.p12");
    assert_eq!(saved["tls_versions"], json!(["TLSv1.2"]));

    // OAuth 2.0 client credentials: Authorize fetches a token now.
    choose(&client, &console, "brand-cc", "oauth2_client_credentials").await;
    type_into(&client, Locator::Css("#f-client_id"), "console-cc").await;
    type_into(&client, Locator::Css("#f-client_secret"), CANARIES[4]).await;
    type_into(&client, Locator::Css("#f-scope"), "orders:read").await;
    type_into(
        &client,
        Locator::Css("#f-token_url"),
        &format!("{}/token", console.idp.issuer()),
    )
    .await;
    press(&client, Locator::XPath("//button[.='Authorize']")).await;
    // The form's page is still shown until the answer comes: wait for it.
    let confirmed = until_text(&client, Locator::Css("h1"), "authorised").await;
    assert_eq!(confirmed, "Credential brand-cc is authorised");
    check_page(&client, &CANARIES).await;

    // The list: every type, each with its menu.
    client
        .goto(&console.url("/console/orgs/acme"))
        .await
        .unwrap();
    let list = text_of(&client, Locator::Css("table.credentials")).await;
    for (name, label) in [
        ("brand-basic", "Basic Authentication"),
        ("fixed-token", "Access Token"),
        ("brand-login", "Consumer Authentication"),
        ("pre-auth", "Consumer Pre-Authentication"),
        ("dialogflow", "Third-party NLU"),
        ("brand-mtls", "Mutual Authentication"),
        ("brand-cc", "OAuth 2.0, Client Credentials"),
    ] {
        assert!(
            list.contains(name) && list.contains(label),
            "{name} ({label}) is not listed: {list}"
        );
    }
    assert!(list.contains("Authorized; the token expires in"), "{list}");
    check_page(&client, &CANARIES).await;
    screenshot(&client, "console-credentials").await;

    // Edit from the menu: the secret field is blank, left blank it stays.
    press(
        &client,
        Locator::Css("summary[aria-label='Actions for fixed-token']"),
    )
    .await;
    press(
        &client,
        Locator::XPath("//summary[@aria-label='Actions for fixed-token']/..//a[.='Edit']"),
    )
    .await;
    let token_type = client.find(Locator::Css("#f-token_type")).await.unwrap();
    assert_eq!(
        token_type.prop("value").await.unwrap().as_deref(),
        Some("Bearer")
    );
    check_page(&client, &CANARIES).await;
    screenshot(&client, "console-edit").await;
    token_type.clear().await.unwrap();
    type_into(&client, Locator::Css("#f-token_type"), "Token").await;
    save(&client, "Save changes", "fixed-token").await;
    let acme = standin::platform::org::OrgId::parse("acme").unwrap();
    let edited = console
        .platform
        .state()
        .vault
        .get(&acme, "fixed-token")
        .unwrap();
    let edited = edited.sealed().to_string();
    assert!(
        edited.contains("\"Token\"") && edited.contains(CANARIES[2]),
        "{edited}"
    );

    // Delete brand-basic, which an integration uses, with the keyboard
    // alone: open its menu, Delete, then Continue.
    let enter = "\u{e007}";
    client
        .find(Locator::Css(
            "summary[aria-label='Actions for brand-basic']",
        ))
        .await
        .unwrap()
        .send_keys(enter)
        .await
        .unwrap();
    client
        .find(Locator::XPath(
            "//summary[@aria-label='Actions for brand-basic']/..//a[.='Delete']",
        ))
        .await
        .unwrap()
        .send_keys(enter)
        .await
        .unwrap();
    let warning = text_of(&client, Locator::Css(".problem")).await;
    assert!(
        warning.contains("integration list-orders (bot orders-bot, dialog my-orders)"),
        "{warning}"
    );
    check_page(&client, &CANARIES).await;
    screenshot(&client, "console-delete").await;
    client
        .find(Locator::XPath("//button[.='Continue']"))
        .await
        .unwrap()
        .send_keys(enter)
        .await
        .unwrap();
    let notice = text_of(&client, Locator::Css(".notice")).await;
    assert_eq!(notice, "Credential brand-basic was deleted.");
    assert!(
        console
            .platform
            .state()
            .vault
            .list(&standin::platform::org::OrgId::parse("acme").unwrap())
            .iter()
            .all(|c| c.name != "brand-basic")
    );
    client.close().await.unwrap();
}

#[tokio::test]
async fn an_oauth_code_credential_is_authorized_in_the_browser() {
    let console = Console::start().await;
    let (_driver, client) = add_code_credential_form(&console).await;

    // The redirect URI to register at the brand, with its Copy button.
    let shown = client.find(Locator::Css("#shown-uri")).await.unwrap();
    assert_eq!(
        shown.prop("value").await.unwrap().as_deref(),
        Some(console.url("/oauth2/callback").as_str())
    );
    press(&client, Locator::Css("button[data-copy]")).await;
    // The clipboard answers asynchronously: poll the button's text.
    let copied = super::poll(|| async {
        let text = text_of(&client, Locator::Css("button[data-copy]")).await;
        (text != "Copy").then_some(text)
    })
    .await
    .unwrap_or_else(|| "Copy".into());
    assert!(
        copied == "Copied" || copied == "Press Ctrl+C to copy",
        "the Copy button says {copied:?}"
    );
    check_page(&client, &CANARIES).await;
    let issuer = console.idp.issuer().to_string();
    fill_code_credential(
        &client,
        &format!("{issuer}/authorize"),
        &format!("{issuer}/token"),
    )
    .await;
    screenshot(&client, "console-add-oauth").await;

    // Authorize: to the brand, sign in, allow, back to a confirmation.
    authorize_as_alice(&client).await;
    let confirmed = until_text(&client, Locator::Css("h1"), "authorised").await;
    assert_eq!(confirmed, "Credential brand-oauth is authorised");
    press(
        &client,
        Locator::LinkText("Back to the organisation's credentials"),
    )
    .await;
    let list = text_of(&client, Locator::Css("table.credentials")).await;
    assert!(
        list.contains("brand-oauth") && list.contains("Authorized; the token expires in 5 minutes"),
        "{list}"
    );
    // Now its menu offers Reauthorize.
    press(
        &client,
        Locator::Css("summary[aria-label='Actions for brand-oauth']"),
    )
    .await;
    let menu = text_of(
        &client,
        Locator::XPath("//summary[@aria-label='Actions for brand-oauth']/.."),
    )
    .await;
    assert!(menu.contains("Reauthorize"), "{menu}");
    check_page(&client, &CANARIES).await;
    screenshot(&client, "console-authorized").await;
    client.close().await.unwrap();
}

/// The same Authorize, against oidc-provider (an OpenID-certified IdP
/// nobody here wrote) in the `unusual` configuration (only
/// `client_secret_post`, ES256 ID tokens, no refresh token): its own
/// sign-in and consent pages in Chromium, PKCE required, and back to the
/// console's confirmation.
#[tokio::test]
async fn an_oauth_code_credential_is_authorized_at_oidc_provider() {
    use crate::platform_support::oidc_provider::Peer;

    let console = Console::start().await;
    let peer = Peer::start("unusual");
    peer.register(json!({
        "client_id": "console-code",
        "client_secret": CANARIES[3],
        "redirect_uris": [console.url("/oauth2/callback")],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "scope": "openid orders:read",
    }))
    .await;
    let (_driver, client) = add_code_credential_form(&console).await;
    let issuer = &peer.issuer;
    fill_code_credential(
        &client,
        &format!("{issuer}/auth"),
        &format!("{issuer}/token"),
    )
    .await;
    // oidc-provider's pages, as the mock's: sign in, then allow.
    authorize_as_alice(&client).await;
    let confirmed = until_text(&client, Locator::Css("h1"), "authorised").await;
    assert_eq!(
        confirmed,
        "Credential brand-oauth is authorised",
        "{}",
        client.source().await.unwrap_or_default()
    );
    // oidc-provider's pages have no icon (a 404 in the browser's console):
    // its errors are not the console's, any other is.
    let ours: Vec<String> = super::console_errors(&client)
        .await
        .into_iter()
        .filter(|e| !e.starts_with(issuer.as_str()))
        .collect();
    assert!(ours.is_empty(), "console errors: {ours:#?}");
    check_page(&client, &CANARIES).await;
    press(
        &client,
        Locator::LinkText("Back to the organisation's credentials"),
    )
    .await;
    let list = text_of(&client, Locator::Css("table.credentials")).await;
    assert!(
        list.contains("brand-oauth") && list.contains("Authorized; the token expires in 5 minutes"),
        "{list}"
    );
    client.close().await.unwrap();
}
