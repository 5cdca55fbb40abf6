//! Conversations on the platform, over its HTTP API: opening them, what
//! the consumer says, what the bot answers (and the link in it), the
//! conversation's context and its event log.

use std::collections::BTreeSet;

use anyhow::{anyhow, ensure};
use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use serde_json::Value;
use url::Url;

use super::{BotReply, Conversation, DelegationWorld, Link};
use crate::drivers::Reply;

/// The label of a conversation opened without a name.
const MAIN: &str = "main";

impl DelegationWorld {
    /// Open a conversation with the demo bot; returns its index.
    pub async fn open_conversation(
        &mut self,
        label: &str,
        org: &str,
        consumer: Option<&str>,
    ) -> anyhow::Result<usize> {
        let id = self.chat.open(org, consumer).await?;
        self.conversations.push(Conversation {
            label: label.to_string(),
            id,
            org: org.to_string(),
            links: Vec::new(),
        });
        Ok(self.conversations.len() - 1)
    }

    /// The consumer says `text` in the conversation at `index`; the bot's
    /// reply is kept, and its link (if any) added to the conversation's.
    pub async fn say_in(&mut self, index: usize, text: &str) -> anyhow::Result<BotReply> {
        let id = self.conversation(index)?.id.clone();
        let reply = self.chat.say(&id, text).await;
        self.attribute_api_requests(index);
        let Reply { text, link } = reply?;
        if let Some(link) = &link {
            self.conversations[index].links.push(link.clone());
        }
        let reply = BotReply {
            conversation: index,
            text,
            link,
        };
        self.reply = Some(reply.clone());
        Ok(reply)
    }

    /// The bot's reply to the last message.
    pub fn reply(&self) -> anyhow::Result<&BotReply> {
        self.reply
            .as_ref()
            .ok_or_else(|| anyhow!("the consumer has said nothing yet"))
    }

    /// The link in the bot's reply to the last message.
    pub fn reply_link(&self) -> anyhow::Result<&Link> {
        let reply = self.reply()?;
        reply
            .link
            .as_ref()
            .ok_or_else(|| anyhow!("the bot answered without a link: {:?}", reply.text))
    }

    /// Say `text` and expect a sign-in link back.
    pub async fn ask_for_link(&mut self, index: usize, text: &str) -> anyhow::Result<Link> {
        let reply = self.say_in(index, text).await?;
        reply
            .link
            .ok_or_else(|| anyhow!("expected a sign-in link, the bot said {:?}", reply.text))
    }

    /// The transcript's bot messages of a conversation, oldest first.
    pub async fn bot_messages(&self, index: usize) -> anyhow::Result<Vec<Reply>> {
        self.chat.bot_messages(&self.conversation(index)?.id).await
    }

    /// The last message the bot posted in a conversation (a reply, or an
    /// answer posted after the callback).
    pub async fn last_bot_message(&self, index: usize) -> anyhow::Result<(String, Option<Link>)> {
        let Reply { text, link } = self.chat.last_bot(&self.conversation(index)?.id).await?;
        Ok((text, link))
    }

    /// The event log of a conversation, each as `kind` or `kind (reason)`.
    pub async fn events(&self, index: usize) -> anyhow::Result<Vec<String>> {
        self.chat.event_names(&self.conversation(index)?.id).await
    }

    /// The context of a conversation: whether a token is held.
    pub async fn context(&self, index: usize) -> anyhow::Result<Value> {
        self.chat.context(&self.conversation(index)?.id).await
    }

    pub async fn close(&mut self, index: usize) -> anyhow::Result<()> {
        let id = self.conversation(index)?.id.clone();
        self.chat.close(&id).await
    }

    async fn expect_token(&self, index: usize, present: bool) -> anyhow::Result<()> {
        let context = self.context(index).await?;
        ensure!(
            context["access_token_present"] == present,
            "expected the context of conversation {:?} to {} an access token: {context}",
            self.conversation(index)?.label,
            if present { "hold" } else { "hold no" }
        );
        Ok(())
    }
}

/// The event names of a one-column table.
fn table_events(step: &Step) -> anyhow::Result<Vec<String>> {
    let table = step
        .table
        .as_ref()
        .ok_or_else(|| anyhow!("this step needs a table of events"))?;
    Ok(table
        .rows
        .iter()
        .map(|row| row.join(" ").trim().to_string())
        .collect())
}

/// Small counts written as words in the features.
fn count_word(word: &str) -> anyhow::Result<usize> {
    ["zero", "one", "two", "three", "four", "five"]
        .iter()
        .position(|w| *w == word)
        .or_else(|| word.parse().ok())
        .ok_or_else(|| anyhow!("{word:?} is not a count"))
}

// --- opening and closing ---------------------------------------------------

#[given("a conversation with the demo bot")]
async fn open_main(world: &mut DelegationWorld) -> anyhow::Result<()> {
    world.current = world.open_conversation(MAIN, "demo", None).await?;
    Ok(())
}

#[given(expr = "a conversation with the demo bot in organisation {string}")]
async fn open_in_org(world: &mut DelegationWorld, org: String) -> anyhow::Result<()> {
    let label = format!("{MAIN} of {org}");
    world.current = world.open_conversation(&label, &org, None).await?;
    Ok(())
}

#[given(expr = "a second conversation {string} with the demo bot")]
async fn open_second(world: &mut DelegationWorld, label: String) -> anyhow::Result<()> {
    world.open_conversation(&label, "demo", None).await?;
    Ok(())
}

#[given(expr = "a conversation {string} with the demo bot for consumer {string}")]
async fn open_for_consumer(
    world: &mut DelegationWorld,
    label: String,
    consumer: String,
) -> anyhow::Result<()> {
    let index = world
        .open_conversation(&label, "demo", Some(&consumer))
        .await?;
    if index == 0 {
        world.current = index;
    }
    Ok(())
}

#[when("the conversation is closed")]
async fn close_current(world: &mut DelegationWorld) -> anyhow::Result<()> {
    world.close(world.current).await
}

#[when(expr = "conversation {string} is closed")]
async fn close_named(world: &mut DelegationWorld, label: String) -> anyhow::Result<()> {
    let index = world.conversation_index(&label)?;
    world.close(index).await
}

#[then(expr = "a new message to the conversation is refused with status {int}")]
async fn message_refused(world: &mut DelegationWorld, expected: u16) -> anyhow::Result<()> {
    let id = world.conversation(world.current)?.id.clone();
    let answer = world.chat.post(&id, "my orders").await?;
    ensure!(
        answer.status == expected,
        "the message was answered {}, expected {expected}: {}",
        answer.status,
        answer.body
    );
    Ok(())
}

// --- what the consumer says -------------------------------------------------

#[when(expr = "the consumer says {string}")]
#[when(expr = "the consumer says {string} again")]
async fn say(world: &mut DelegationWorld, text: String) -> anyhow::Result<()> {
    world.say_in(world.current, &text).await.map(drop)
}

#[when(expr = "the consumer says {string} in conversation {string}")]
async fn say_in(world: &mut DelegationWorld, text: String, label: String) -> anyhow::Result<()> {
    let index = world.conversation_index(&label)?;
    world.say_in(index, &text).await.map(drop)
}

#[given(expr = "the consumer has said {string} and received a sign-in link")]
async fn has_link(world: &mut DelegationWorld, text: String) -> anyhow::Result<()> {
    world.ask_for_link(world.current, &text).await.map(drop)
}

#[given(
    expr = "the consumer has said {string} in conversation {string} and received a sign-in link"
)]
async fn has_link_in(
    world: &mut DelegationWorld,
    text: String,
    label: String,
) -> anyhow::Result<()> {
    let index = world.conversation_index(&label)?;
    world.ask_for_link(index, &text).await.map(drop)
}

// --- what the bot answers ---------------------------------------------------

#[then("the bot answers with a sign-in link")]
fn answers_with_link(world: &mut DelegationWorld) -> anyhow::Result<()> {
    world.reply_link().map(drop)
}

#[then("the bot answers without a link")]
fn answers_without_link(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let reply = world.reply()?;
    ensure!(
        reply.link.is_none(),
        "the bot sent a link with {:?}",
        reply.text
    );
    Ok(())
}

#[then(
    "the link is the credential's authentication URL with state, code_challenge, code_challenge_method and nonce added"
)]
fn link_is_credential_plus(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let link = world.reply_link()?.0.clone();
    let org = world.conversation(world.reply()?.conversation)?.org.clone();
    let saved = world
        .credential_urls
        .get(&(org, "brand-login".to_string()))
        .ok_or_else(|| anyhow!("no credential brand-login was saved in this scenario"))?;
    let saved = Url::parse(saved)?;
    let added = ["state", "code_challenge", "code_challenge_method", "nonce"];
    let mut stripped = link.clone();
    let kept: Vec<(String, String)> = link
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| !added.contains(&k.as_str()))
        .collect();
    stripped.query_pairs_mut().clear().extend_pairs(&kept);
    let saved_pairs: Vec<(String, String)> = saved.query_pairs().into_owned().collect();
    ensure!(
        stripped.origin() == saved.origin() && stripped.path() == saved.path(),
        "the link goes to {}{}, the credential to {}{}",
        stripped.origin().ascii_serialization(),
        stripped.path(),
        saved.origin().ascii_serialization(),
        saved.path()
    );
    ensure!(
        kept == saved_pairs,
        "the link's own parameters {kept:?} differ from the credential's {saved_pairs:?}"
    );
    for name in added {
        let count = link.query_pairs().filter(|(k, _)| k == name).count();
        ensure!(count == 1, "the link carries {name} {count} times");
    }
    Ok(())
}

#[then(expr = "the link's {string} is {string}")]
fn link_param_is(world: &mut DelegationWorld, name: String, value: String) -> anyhow::Result<()> {
    let actual = world.reply_link()?.param(&name);
    ensure!(
        actual.as_deref() == Some(value.as_str()),
        "the link's {name} is {actual:?}, expected {value:?}"
    );
    Ok(())
}

#[then(expr = "the link's {string} is {int} characters long")]
fn link_param_len(world: &mut DelegationWorld, name: String, len: usize) -> anyhow::Result<()> {
    let actual = world
        .reply_link()?
        .param(&name)
        .ok_or_else(|| anyhow!("the link has no {name}"))?;
    ensure!(
        actual.len() == len,
        "the link's {name} is {} characters long, expected {len}",
        actual.len()
    );
    Ok(())
}

#[then(expr = "the link's {string} is at least {int} characters long")]
fn link_param_min_len(world: &mut DelegationWorld, name: String, len: usize) -> anyhow::Result<()> {
    let actual = world
        .reply_link()?
        .param(&name)
        .ok_or_else(|| anyhow!("the link has no {name}"))?;
    ensure!(
        actual.len() >= len,
        "the link's {name} is only {} characters long, expected at least {len}",
        actual.len()
    );
    Ok(())
}

#[then(expr = "the link's {string} differs from the first link's")]
fn link_differs_from_first(world: &mut DelegationWorld, name: String) -> anyhow::Result<()> {
    let reply = world.reply_link()?;
    let conv = world.conversation(world.reply()?.conversation)?;
    ensure!(
        conv.links.len() >= 2,
        "only one link was sent: {:?}",
        conv.links
    );
    ensure!(
        reply.param(&name) != conv.links[0].param(&name),
        "the new link repeats the first link's {name}"
    );
    Ok(())
}

#[then(expr = "the link's {string} differs from every link of conversation {string}")]
fn link_differs_from_other(
    world: &mut DelegationWorld,
    name: String,
    label: String,
) -> anyhow::Result<()> {
    let value = world.reply_link()?.param(&name);
    let other = world.conversation(world.conversation_index(&label)?)?;
    ensure!(!other.links.is_empty(), "conversation {label} got no link");
    ensure!(
        other.links.iter().all(|l| l.param(&name) != value),
        "the link reuses a {name} of conversation {label}"
    );
    Ok(())
}

#[then(regex = r#"^the (\w+) links have different "([^"]+)" values$"#)]
fn links_differ(world: &mut DelegationWorld, count: String, name: String) -> anyhow::Result<()> {
    let expected = count_word(&count)?;
    let values: Vec<Option<String>> = world
        .conversations
        .iter()
        .flat_map(|c| c.links.iter().map(|l| l.param(&name)))
        .collect();
    ensure!(
        values.len() == expected,
        "{} links were sent, expected {expected}",
        values.len()
    );
    let distinct: std::collections::HashSet<_> = values.iter().flatten().collect();
    ensure!(
        distinct.len() == expected,
        "the links share a {name}: {} distinct values among {expected}",
        distinct.len()
    );
    Ok(())
}

async fn expect_last_message(
    world: &DelegationWorld,
    index: usize,
    check: impl Fn(&str) -> bool,
    expected: &str,
) -> anyhow::Result<()> {
    let (text, _) = world.last_bot_message(index).await?;
    ensure!(
        check(&text),
        "the bot's last message is {text:?}, expected {expected}"
    );
    Ok(())
}

#[then(expr = "the bot's last message is {string}")]
async fn last_message_is(world: &mut DelegationWorld, expected: String) -> anyhow::Result<()> {
    expect_last_message(
        world,
        world.current,
        |t| t == expected,
        &format!("{expected:?}"),
    )
    .await
}

#[then(expr = "the bot's last message starts with {string}")]
async fn last_message_starts(world: &mut DelegationWorld, prefix: String) -> anyhow::Result<()> {
    expect_last_message(
        world,
        world.current,
        |t| t.starts_with(&prefix),
        &format!("one starting with {prefix:?}"),
    )
    .await
}

#[then(expr = "the bot's last message says {string}")]
async fn last_message_says(world: &mut DelegationWorld, part: String) -> anyhow::Result<()> {
    expect_last_message(
        world,
        world.current,
        |t| t.contains(&part),
        &format!("one saying {part:?}"),
    )
    .await
}

#[then("the bot's last message has no link")]
async fn last_message_no_link(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let (text, link) = world.last_bot_message(world.current).await?;
    ensure!(link.is_none(), "the bot's last message {text:?} has a link");
    Ok(())
}

/// The last bot message of a conversation has a link it never sent before;
/// it becomes the conversation's latest link.
async fn expect_new_link(world: &mut DelegationWorld, index: usize) -> anyhow::Result<()> {
    let (text, link) = world.last_bot_message(index).await?;
    let link = link.ok_or_else(|| anyhow!("the bot's last message {text:?} has no link"))?;
    let conv = &mut world.conversations[index];
    ensure!(
        conv.links
            .iter()
            .all(|l| l.param("state") != link.param("state")),
        "the link in {text:?} is not new"
    );
    conv.links.push(link);
    Ok(())
}

#[then("the bot's last message has a new sign-in link")]
async fn last_message_new_link(world: &mut DelegationWorld) -> anyhow::Result<()> {
    expect_new_link(world, world.current).await
}

#[then(expr = "the bot's last message in conversation {string} has a new sign-in link")]
async fn last_message_new_link_in(
    world: &mut DelegationWorld,
    label: String,
) -> anyhow::Result<()> {
    let index = world.conversation_index(&label)?;
    expect_new_link(world, index).await
}

#[then(expr = "the bot posted {int} answer(s) with the orders")]
async fn answers_with_orders(world: &mut DelegationWorld, expected: usize) -> anyhow::Result<()> {
    let answers = world
        .bot_messages(world.current)
        .await?
        .iter()
        .filter(|m| m.text.starts_with("Your orders"))
        .count();
    ensure!(
        answers == expected,
        "the bot posted {answers} answers with the orders, expected {expected}"
    );
    Ok(())
}

// --- the context -----------------------------------------------------------

#[given("the conversation holds an access token")]
#[then("the conversation holds an access token")]
async fn holds_token(world: &mut DelegationWorld) -> anyhow::Result<()> {
    world.expect_token(world.current, true).await
}

#[then("the conversation holds no access token")]
async fn holds_no_token(world: &mut DelegationWorld) -> anyhow::Result<()> {
    world.expect_token(world.current, false).await
}

#[then(expr = "conversation {string} holds an access token")]
async fn named_holds_token(world: &mut DelegationWorld, label: String) -> anyhow::Result<()> {
    world
        .expect_token(world.conversation_index(&label)?, true)
        .await
}

#[then(expr = "conversation {string} holds no access token")]
async fn named_holds_no_token(world: &mut DelegationWorld, label: String) -> anyhow::Result<()> {
    world
        .expect_token(world.conversation_index(&label)?, false)
        .await
}

#[then(expr = "the conversation holds an access token that expires in {int} seconds")]
async fn token_expires_in(world: &mut DelegationWorld, secs: i64) -> anyhow::Result<()> {
    // In profile mode the profile says what the IdP's lifetime is.
    let secs = super::profile::current()
        .and_then(|p| p.access_token_lifetime)
        .and_then(|l| i64::try_from(l).ok())
        .unwrap_or(secs);
    let context = world.context(world.current).await?;
    let expires_at = context["access_token_expires_at"]
        .as_i64()
        .ok_or_else(|| anyhow!("the context holds no expiring token: {context}"))?;
    let left = expires_at - world.clock.now().unix_secs();
    // The exchange and this check may fall on either side of a second.
    ensure!(
        (secs - 1..=secs).contains(&left),
        "the token expires in {left} seconds, expected {secs}"
    );
    Ok(())
}

/// Every run of token characters in the conversation's transcript, events
/// and context is compared with what was issued: none may be the code the
/// consumer's browser brought back, nor an access token the brand API
/// received (by its id in the brand API's log), nor, against the mock, any
/// code, access or refresh token the IdP lists (by value, as its
/// inspection allows). An external IdP cannot be asked what it issued; the
/// first two hold in both modes.
#[then("no read of the conversation holds a code or token the IdP issued")]
async fn reads_hold_no_token(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let id = world.conversation(world.current)?.id.clone();
    let reads = world.chat.reads(&id).await?;
    let code = world
        .callback
        .as_ref()
        .and_then(|(_, callback)| callback.get("code").map(str::to_string))
        .ok_or_else(|| anyhow!("no code came back to the platform: the check proves nothing"))?;
    let received: BTreeSet<String> = world
        .api
        .control()
        .requests()
        .into_iter()
        .filter_map(|entry| entry.token_id)
        .collect();
    ensure!(
        !received.is_empty(),
        "the brand API received no token: the check proves nothing"
    );
    let grants = world.idp.control().ok().map(|control| control.grants());
    let token_char = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
    for read in &reads {
        for word in read
            .split(|c: char| !token_char(c))
            .filter(|w| w.len() >= 16)
        {
            let issued = word == code
                || received.contains(&standin::wire::token_id(word))
                || grants.as_ref().is_some_and(|g| {
                    g.access_token(word).is_some()
                        || g.refresh_token(word).is_some()
                        || g.code(word).is_some()
                });
            ensure!(
                !issued,
                "a read of the conversation holds a code or token the IdP issued"
            );
        }
    }
    Ok(())
}

#[then("the conversation's context shows an access token and no refresh token")]
async fn context_access_no_refresh(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let context = world.context(world.current).await?;
    ensure!(
        context["access_token_present"] == true && context["refresh_token_present"] == false,
        "the context is {context}"
    );
    Ok(())
}

// --- the event log ---------------------------------------------------------

#[then("the conversation's events are:")]
async fn events_are(world: &mut DelegationWorld, step: &Step) -> anyhow::Result<()> {
    let expected = table_events(step)?;
    let actual = world.events(world.current).await?;
    ensure!(
        actual == expected,
        "the events are {actual:?}, expected {expected:?}"
    );
    Ok(())
}

#[then("the conversation's events end with:")]
async fn events_end_with(world: &mut DelegationWorld, step: &Step) -> anyhow::Result<()> {
    let expected = table_events(step)?;
    let actual = world.events(world.current).await?;
    ensure!(
        actual.ends_with(&expected),
        "the events are {actual:?}, expected them to end with {expected:?}"
    );
    Ok(())
}

#[then("the conversation's events include, in this order:")]
async fn events_in_order(world: &mut DelegationWorld, step: &Step) -> anyhow::Result<()> {
    let expected = table_events(step)?;
    let actual = world.events(world.current).await?;
    let mut rest = actual.iter();
    for wanted in &expected {
        ensure!(
            rest.any(|e| e == wanted),
            "the events {actual:?} do not include {expected:?} in this order (missing or out of order: {wanted})"
        );
    }
    Ok(())
}

#[then(expr = "the conversation's last event is {string}")]
async fn last_event_is(world: &mut DelegationWorld, expected: String) -> anyhow::Result<()> {
    let actual = world.events(world.current).await?;
    ensure!(
        actual.last() == Some(&expected),
        "the events are {actual:?}, expected the last one to be {expected:?}"
    );
    Ok(())
}

#[then(expr = "the conversation's events include {string} {int} time(s)")]
async fn events_count(
    world: &mut DelegationWorld,
    event: String,
    expected: usize,
) -> anyhow::Result<()> {
    let current = world.current;
    expect_event_count(world, current, &event, expected).await
}

#[then(expr = "the events of conversation {string} include {string} {int} time(s)")]
async fn named_events_count(
    world: &mut DelegationWorld,
    label: String,
    event: String,
    expected: usize,
) -> anyhow::Result<()> {
    let index = world.conversation_index(&label)?;
    expect_event_count(world, index, &event, expected).await
}

async fn expect_event_count(
    world: &DelegationWorld,
    index: usize,
    event: &str,
    expected: usize,
) -> anyhow::Result<()> {
    let actual = world.events(index).await?;
    let count = actual.iter().filter(|e| **e == event).count();
    ensure!(
        count == expected,
        "{event} occurs {count} times in {actual:?}, expected {expected}"
    );
    Ok(())
}

/// Moves the clock relative to the token's own expiry, so time that
/// passes while the scenario runs cannot make "one second before" late.
#[when(expr = "the shared clock moves to {int} second(s) before the conversation's token expires")]
async fn clock_before_token_expiry(world: &mut DelegationWorld, secs: i64) -> anyhow::Result<()> {
    let context = world.context(world.current).await?;
    let expires_at = context["access_token_expires_at"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("the conversation holds no token: {context}"))?;
    let by = expires_at - secs - world.clock.now().unix_secs();
    ensure!(by >= 0, "the token expires in less than {secs} s already");
    world
        .clock
        .advance(std::time::Duration::from_secs(by as u64));
    Ok(())
}

/// Moves the clock past the token's own expiry, whatever lifetime the IdP
/// gave it.
#[when(expr = "the shared clock moves to {int} second(s) after the conversation's token expires")]
async fn clock_after_token_expiry(world: &mut DelegationWorld, secs: i64) -> anyhow::Result<()> {
    let context = world.context(world.current).await?;
    let expires_at = context["access_token_expires_at"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("the conversation holds no expiring token: {context}"))?;
    let by = (expires_at + secs - world.clock.now().unix_secs()).max(0);
    world
        .clock
        .advance(std::time::Duration::from_secs(by as u64));
    Ok(())
}

#[then(expr = "the conversation's last exchange failure says {string}")]
async fn exchange_failure_says(world: &mut DelegationWorld, part: String) -> anyhow::Result<()> {
    let id = world.conversation(world.current)?.id.clone();
    let events = world.chat.events(&id).await?;
    let reason = events
        .iter()
        .rev()
        .find(|e| e["kind"] == "exchange_failed")
        .and_then(|e| e["reason"].as_str())
        .ok_or_else(|| anyhow!("no exchange_failed event in {events:?}"))?
        .to_string();
    ensure!(
        reason.contains(&part),
        "the exchange failed with {reason:?}, which does not say {part:?}"
    );
    Ok(())
}
