//! The chat page in real headless Chromium (Debian's chromium and
//! chromium-driver; `.ci/run` installs them when missing): the answer
//! appears without a reload once the consumer has signed in in the other
//! tab, and the clock control brings a new link.

use std::time::Duration;

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
    type_into(&client, Locator::Css("#text"), "my orders\n").await;
    until_text(
        &client,
        Locator::Css("#transcript"),
        "Sign in",
        Duration::from_secs(5),
    )
    .await;
    press(&client, Locator::Css("a.signin")).await;
    // The IdP opened in a new tab: sign in there and allow.
    // The click opens it asynchronously: poll for it (not an expiry).
    let mut idp_tab = None;
    for _ in 0..100 {
        idp_tab = client
            .windows()
            .await
            .unwrap()
            .into_iter()
            .find(|w| *w != chat);
        if idp_tab.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let idp_tab = idp_tab.expect("the IdP opened in a new tab");
    client.switch_to_window(idp_tab).await.unwrap();
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
    let text = until_text(
        &client,
        Locator::Css("#transcript"),
        "Your orders: 1001",
        Duration::from_secs(5),
    )
    .await;
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
    check_page(
        &client,
        &["alice-password", crate::platform_support::CLIENT_SECRET],
    )
    .await;
    // +5 minutes, then the next question gets a new link.
    press(
        &client,
        Locator::XPath("//button[contains(., '+5 minutes')]"),
    )
    .await;
    type_into(&client, Locator::Css("#text"), "my orders\n").await;
    let text = until_text(
        &client,
        Locator::Css("#transcript"),
        "expired",
        Duration::from_secs(5),
    )
    .await;
    assert!(text.contains("expired"), "the chat shows: {text}");
    assert_eq!(
        client
            .find_all(Locator::Css("a.signin"))
            .await
            .unwrap()
            .len(),
        2
    );
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
    screenshot(&client, "idp-inspector").await;
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
