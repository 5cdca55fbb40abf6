//! The chat page in real headless Chromium (Debian's chromium and
//! chromium-driver; `.ci/run` installs them when missing): the answer
//! appears without a reload once the consumer has signed in in the other
//! tab, the timeline's steps open on their details (and stay open, the
//! focus kept, across updates), and the clock control brings a new link.

use fantoccini::Locator;
use standin::conform::chromium::Driver;

use super::{browser, check_page, press, screenshot, text_of, type_into, until_text};
use crate::platform_support::World;

#[tokio::test]
async fn the_answer_appears_without_a_reload_and_the_clock_brings_a_new_link() {
    let world = World::start().await;
    let driver = Driver::start().await.expect("chromedriver");
    let client = browser(&driver).await;
    client
        .goto(&format!("{}/chat", world.platform.url()))
        .await
        .unwrap();
    let chat = client.window().await.unwrap();
    let conv = client
        .current_url()
        .await
        .unwrap()
        .path()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    type_into(&client, Locator::Css("#text"), "my orders\n").await;
    until_text(&client, Locator::Css("#transcript"), "Sign in").await;
    let link = url::Url::parse(
        &client
            .find(Locator::Css("a.signin"))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .expect("the sign-in link"),
    )
    .unwrap();
    // What binds the link to this conversation, never in the timeline.
    let bound: Vec<String> = ["state", "nonce", "code_challenge"]
        .iter()
        .map(|n| crate::drivers::Link(link.clone()).param(n).expect(n))
        .collect();
    press(&client, Locator::Css("a.signin")).await;
    // The IdP opened in a new tab: sign in there and allow.
    // The click opens it asynchronously: poll for it (not an expiry).
    let idp_tab = super::poll(|| async {
        client
            .windows()
            .await
            .ok()?
            .into_iter()
            .find(|w| *w != chat)
    })
    .await;
    let idp_tab = idp_tab.expect("the IdP opened in a new tab");
    client.switch_to_window(idp_tab).await.unwrap();
    // The IdP's sign-in page is held to the same bar as the platform's.
    client
        .wait()
        .for_element(Locator::Css("input[name=username]"))
        .await
        .unwrap();
    check_page(&client, &[crate::platform_support::CLIENT_SECRET]).await;
    screenshot(&client, "idp-sign-in").await;
    type_into(&client, Locator::Css("input[name=username]"), "alice").await;
    type_into(
        &client,
        Locator::Css("input[name=password]"),
        "alice-password\n",
    )
    .await;
    press(&client, Locator::Css("button[value=allow]")).await;
    client
        .wait()
        .for_element(Locator::XPath("//h1[contains(., 'You are signed in')]"))
        .await
        .unwrap();
    // Back in the chat tab, which nobody reloaded.
    client.switch_to_window(chat).await.unwrap();
    let text = until_text(&client, Locator::Css("#transcript"), "Your orders: 1001").await;
    assert!(text.contains("Your orders: 1001"), "the chat shows: {text}");
    // Beside it, the timeline drew the flow, and nobody reloaded.
    let timeline = text_of(&client, Locator::Css("#timeline")).await;
    for step in [
        "challenge sent",
        "callback received",
        "exchange done",
        "integration called",
    ] {
        assert!(
            timeline.contains(step),
            "no {step:?} in the timeline: {timeline}"
        );
    }
    screenshot(&client, "chat").await;

    // The exchange's step: the token request as the platform logged it.
    press(
        &client,
        Locator::XPath("//summary[contains(., 'exchange done')]"),
    )
    .await;
    let exchange = Locator::XPath("//details[summary[contains(., 'exchange done')]]");
    let text = until_text(&client, exchange, "expires_in").await;
    for shown in [
        format!("{}/token", world.idp.issuer()),
        "grant_type".into(),
        "authorization_code".into(),
        "expires_in".into(),
        "300 s".into(),
        "access_token, refresh_token, id_token".into(),
    ] {
        assert!(
            text.contains(&shown),
            "no {shown:?} in the exchange step: {text}"
        );
    }
    // The ID token's step: its claims, the nonce and hashes hidden.
    press(
        &client,
        Locator::XPath("//summary[contains(., 'id token validated')]"),
    )
    .await;
    let id_token = Locator::XPath("//details[summary[contains(., 'id token validated')]]");
    let text = until_text(&client, id_token, "iss").await;
    for shown in [
        "sub",
        "c0ffee00-a11c-4e00-8000-000000000001",
        "iss",
        world.idp.issuer(),
        "(checked",
    ] {
        assert!(
            text.contains(shown),
            "no {shown:?} in the ID token step: {text}"
        );
    }
    screenshot(&client, "chat-timeline").await;

    // A later update (a message sent through the API, not this page's
    // form, which would reload it) re-renders the live part: the opened
    // steps stay open and the focus stays on the summary last pressed.
    let opened: Vec<String> = serde_json::from_value(
        client
            .execute(
                "return Array.from(document.querySelectorAll('#timeline details[open]')).map(d => d.id);",
                vec![],
            )
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(opened.len(), 2, "{opened:?}");
    let active = "return document.activeElement ? document.activeElement.id : '';";
    let focused = client.execute(active, vec![]).await.unwrap();
    assert_eq!(focused, serde_json::json!(format!("{}-summary", opened[1])));
    let rows = "return document.querySelectorAll('#timeline tbody tr').length;";
    let before = client
        .execute(rows, vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    world.chat().say(&conv, "my orders").await.unwrap();
    let answered = super::poll(|| async {
        let transcript = text_of(&client, Locator::Css("#transcript")).await;
        (transcript.matches("Your orders: 1001").count() == 2).then_some(())
    })
    .await;
    assert!(
        answered.is_some(),
        "no second answer: {}",
        text_of(&client, Locator::Css("#transcript")).await
    );
    let after = client
        .execute(rows, vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    assert!(
        after > before,
        "the timeline was not updated ({before} rows)"
    );
    for id in &opened {
        let open = client
            .find(Locator::Id(id))
            .await
            .unwrap()
            .attr("open")
            .await
            .unwrap();
        assert!(open.is_some(), "step {id} closed at the update");
    }
    assert_eq!(client.execute(active, vec![]).await.unwrap(), focused);

    let timeline: String = serde_json::from_value(
        client
            .execute(
                "return document.getElementById('timeline').outerHTML;",
                vec![],
            )
            .await
            .unwrap(),
    )
    .unwrap();
    for value in &bound {
        assert!(
            !timeline.contains(value.as_str()),
            "the timeline shows {value:?}"
        );
    }
    let tokens = world.tokens_seen().await;
    assert!(!tokens.is_empty());
    let mut canaries = vec!["alice-password", crate::platform_support::CLIENT_SECRET];
    canaries.extend(tokens.iter().map(String::as_str));
    check_page(&client, &canaries).await;
    // +5 minutes, then the next question gets a new link.
    press(
        &client,
        Locator::XPath("//button[contains(., '+5 minutes')]"),
    )
    .await;
    type_into(&client, Locator::Css("#text"), "my orders\n").await;
    let text = until_text(&client, Locator::Css("#transcript"), "expired").await;
    assert!(text.contains("expired"), "the chat shows: {text}");
    assert_eq!(
        client
            .find_all(Locator::Css("a.signin"))
            .await
            .unwrap()
            .len(),
        2
    );
    // The IdP's inspector shows what this flow did: the code used once,
    // the access token presented to the brand API.
    client
        .goto(&format!("{}/admin/inspector", world.idp.issuer()))
        .await
        .unwrap();
    let issued = text_of(&client, Locator::Css("table")).await;
    let row = |what: &str| {
        issued
            .lines()
            .find(|l| l.starts_with(what))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("code").contains("used"), "{issued}");
    assert!(row("access token").contains("platform-bot"), "{issued}");
    check_page(&client, &canaries).await;
    screenshot(&client, "idp-inspector").await;
    client.close().await.unwrap();
}

/// The IdP inspector in the browser, and its clock control.
#[tokio::test]
async fn the_idp_inspector_in_the_browser() {
    let world = World::start().await;
    let driver = Driver::start().await.expect("chromedriver");
    let client = browser(&driver).await;
    client
        .goto(&format!("{}/admin/inspector", world.idp.issuer()))
        .await
        .unwrap();
    let before = text_of(&client, Locator::Css("p")).await;
    assert!(before.contains("+0 s from real time"), "{before}");
    check_page(&client, &[crate::platform_support::CLIENT_SECRET]).await;
    press(
        &client,
        Locator::XPath("//button[contains(., '+5 minutes')]"),
    )
    .await;
    let after = client
        .wait()
        .for_element(Locator::XPath("//p[contains(., '+300 s from real time')]"))
        .await;
    assert!(after.is_ok(), "the clock control did not move the clock");
    client.close().await.unwrap();
}
