//! Conversations of signed-in consumers, and the IdP's side of refreshing
//! their tokens (features/credentials/pre_authentication.feature).

use super::*;

// --- conversations of signed-in consumers ---------------------------------------

#[given(
    expr = "a conversation {string} with the demo bot opened with the session token of {string}"
)]
#[when(
    expr = "a conversation {string} with the demo bot is opened with the session token of {string}"
)]
async fn open_named_for(
    world: &mut DelegationWorld,
    label: String,
    username: String,
) -> anyhow::Result<()> {
    let index = world.open_signed_in(&label, &username).await?;
    if index == 0 {
        world.current = index;
    }
    Ok(())
}

#[given(expr = "a conversation with the demo bot opened with the session token of {string}")]
async fn open_for(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    world.current = world.open_signed_in("main", &username).await?;
    Ok(())
}

#[given(expr = "{int} conversations with the demo bot opened with the session token of {string}")]
async fn open_many_for(
    world: &mut DelegationWorld,
    count: usize,
    username: String,
) -> anyhow::Result<()> {
    for n in 1..=count {
        let index = world
            .open_signed_in(&format!("{username} {n}"), &username)
            .await?;
        world.pre_auth.concurrent.push(index);
    }
    Ok(())
}

#[given(
    expr = "a conversation with the demo bot claiming the consumer id of {string} without a session token"
)]
async fn open_claiming(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let id = world.consumer_id(&username)?;
    world.current = world
        .open_conversation("claimed", ACCOUNT, Some(&id))
        .await?;
    Ok(())
}

#[when(
    expr = "a conversation with the demo bot in organisation {string} is opened with the {word} session token of {string}"
)]
async fn open_with_token_of(
    world: &mut DelegationWorld,
    account: String,
    which: String,
    username: String,
) -> anyhow::Result<()> {
    let back = match which.as_str() {
        "current" => 0,
        "previous" => 1,
        other => anyhow::bail!("a session token is current or previous, not {other:?}"),
    };
    let handle = world.session_token(&username, back)?;
    let label = format!("{username} in {account}");
    if let Some(index) = world
        .open_with_session(&label, &account, &handle, None)
        .await?
    {
        world.current = index;
    }
    Ok(())
}

#[when(
    expr = "a conversation with the demo bot is opened with the session token of {string} and the consumer id of {string}"
)]
async fn open_with_token_and_id(
    world: &mut DelegationWorld,
    username: String,
    claimed: String,
) -> anyhow::Result<()> {
    let handle = world.session_token(&username, 0)?;
    let id = world.consumer_id(&claimed)?;
    world
        .open_with_session("mixed", ACCOUNT, &handle, Some(&id))
        .await
        .map(drop)
}

#[when("a conversation with the demo bot is opened with a session token the platform never issued")]
async fn open_with_unknown_token(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let handle = Secret::new(random_token(32));
    world
        .open_with_session("unknown", ACCOUNT, &handle, None)
        .await
        .map(drop)
}

#[then(expr = "opening the conversation is refused with {int} {string}")]
fn open_refused(world: &mut DelegationWorld, status: u16, error: String) -> anyhow::Result<()> {
    let answer = world
        .pre_auth
        .open_answers
        .last()
        .ok_or_else(|| anyhow!("no conversation was opened with a session token"))?;
    answer.expect(status, &error)?;
    ensure!(
        answer.body.get("id").is_none(),
        "a refused opening names a conversation"
    );
    Ok(())
}

#[then(expr = "the {int} openings were all refused with the same answer, {int} {string}")]
fn same_refusals(
    world: &mut DelegationWorld,
    count: usize,
    status: u16,
    error: String,
) -> anyhow::Result<()> {
    let answers = &world.pre_auth.open_answers;
    ensure!(
        answers.len() == count,
        "{} conversations were opened with a session token, not {count}",
        answers.len()
    );
    for a in answers {
        a.expect(status, &error)?;
        ensure!(
            a.body == answers[0].body,
            "two refusals differ, so one says why: {:?} and {:?}",
            answers[0].body["error_description"],
            a.body["error_description"]
        );
    }
    Ok(())
}

#[then(expr = "the conversation is authenticated for {string}")]
async fn authenticated_for(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let sub = sub_of(&username)?;
    let id = world.conversation(world.current)?.id.clone();
    let transcript = world.chat.transcript(&id).await?;
    ensure!(
        transcript["authenticated"] == true && transcript["consumer_id"] == sub.as_str(),
        "the conversation is for {} (authenticated: {})",
        transcript["consumer_id"],
        transcript["authenticated"]
    );
    Ok(())
}

#[then("the conversation is not authenticated")]
async fn not_authenticated(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let id = world.conversation(world.current)?.id.clone();
    let transcript = world.chat.transcript(&id).await?;
    ensure!(
        transcript["authenticated"] == false,
        "a conversation opened without a session token is authenticated"
    );
    Ok(())
}

#[then(expr = "the brand API received no request with a token of {string}")]
fn no_request_as(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let sub = sub_of(&username)?;
    let grants = world.idp.control()?.grants();
    let theirs: Vec<&str> = grants
        .access_tokens
        .iter()
        .filter(|a| a.sub.as_deref() == Some(sub.as_str()))
        .map(|a| a.id.as_str())
        .collect();
    ensure!(
        !theirs.is_empty(),
        "the IdP issued {username} no access token: the scenario proves nothing"
    );
    for entry in world.api.control().requests() {
        ensure!(
            entry.sub.as_deref() != Some(sub.as_str())
                && entry
                    .token_id
                    .as_deref()
                    .is_none_or(|t| !theirs.contains(&t)),
            "the brand API received a request with a token of {username}: {entry:?}"
        );
    }
    Ok(())
}

#[then(expr = "no session token of {string} is in a log line, a conversation read or a refusal")]
async fn handle_nowhere(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let handles = world
        .pre_auth
        .session_tokens
        .get(&username)
        .cloned()
        .unwrap_or_default();
    ensure!(
        !handles.is_empty(),
        "the platform answered {username} no session token"
    );
    ensure!(
        !world.pre_auth.open_answers.is_empty(),
        "no conversation was opened with a session token"
    );
    let logs = super::super::runner::logs();
    ensure!(!logs.is_empty(), "no log line was captured: logging is off");
    let reads = world.conversation_reads().await?;
    ensure!(!reads.is_empty(), "the scenario opened no conversation");
    for handle in &handles {
        let handle = handle.expose();
        ensure!(
            !logs.lines().any(|l| l.contains(handle)),
            "a log line holds a session token of {username}"
        );
        ensure!(
            !reads.iter().any(|r| r.contains(handle)),
            "a conversation read holds a session token of {username}"
        );
        ensure!(
            !world
                .pre_auth
                .open_answers
                .iter()
                .any(|a| a.body.to_string().contains(handle)),
            "an answer to a conversation opening holds a session token of {username}"
        );
    }
    Ok(())
}

#[when(expr = "the consumer says {string} in the {int} conversations at the same moment")]
async fn say_concurrently(
    world: &mut DelegationWorld,
    text: String,
    count: usize,
) -> anyhow::Result<()> {
    ensure!(
        world.pre_auth.concurrent.len() == count,
        "the scenario opened {} such conversations, not {count}",
        world.pre_auth.concurrent.len()
    );
    let sends = world.pre_auth.concurrent.iter().map(|index| {
        let id = world.conversations[*index].id.clone();
        let chat = world.chat.clone();
        let text = text.clone();
        async move {
            let reply = chat.say(&id, &text).await?;
            Ok::<_, anyhow::Error>((reply.text, reply.link.is_some()))
        }
    });
    let replies = futures::future::join_all(sends).await;
    world.pre_auth.concurrent_replies = replies.into_iter().collect::<anyhow::Result<_>>()?;
    Ok(())
}

#[then(expr = "every one of them gets {string} without a link")]
fn every_reply(world: &mut DelegationWorld, expected: String) -> anyhow::Result<()> {
    ensure!(
        !world.pre_auth.concurrent_replies.is_empty(),
        "no concurrent messages were sent"
    );
    for (text, link) in &world.pre_auth.concurrent_replies {
        ensure!(
            text == &expected && !link,
            "a conversation got {text:?} (link: {link})"
        );
    }
    Ok(())
}

#[then(expr = "the bot answers {string} without a link")]
fn answers_text_without_link(world: &mut DelegationWorld, expected: String) -> anyhow::Result<()> {
    let reply = world.reply()?;
    ensure!(
        reply.text == expected && reply.link.is_none(),
        "the bot answered {:?}{}",
        reply.text,
        if reply.link.is_some() {
            " with a link"
        } else {
            ""
        }
    );
    Ok(())
}

#[then("the brand API served each conversation with its own consumer's token")]
fn served_own_tokens(world: &mut DelegationWorld) -> anyhow::Result<()> {
    ensure!(
        !world.api_requests.is_empty(),
        "the brand API received no request"
    );
    let mut tokens: BTreeMap<String, String> = BTreeMap::new();
    for (index, entry) in &world.api_requests {
        let username = world
            .pre_auth
            .conversation_consumers
            .get(index)
            .ok_or_else(|| {
                anyhow!("a request came from a conversation of no signed-in consumer")
            })?;
        let sub = sub_of(username)?;
        ensure!(
            entry.status == 200 && entry.sub.as_deref() == Some(sub.as_str()),
            "a request of {username}'s conversation was not served as {username}: {entry:?}"
        );
        let token = entry
            .token_id
            .clone()
            .ok_or_else(|| anyhow!("a request carried no token: {entry:?}"))?;
        if let Some((other, _)) = tokens.iter().find(|(u, t)| *u != username && **t == token) {
            anyhow::bail!("{username} and {other} were served with the same token");
        }
        tokens.insert(username.clone(), token);
    }
    Ok(())
}

// --- the IdP's side of refreshing ----------------------------------------------

#[given(expr = "the IdP's token endpoint answers {int} ms late once")]
fn token_endpoint_slow(world: &mut DelegationWorld, delay_ms: u64) -> anyhow::Result<()> {
    world
        .idp
        .control()?
        .push_fault(Endpoint::Token, Fault::Delay { delay_ms }, 1)
        .map_err(|e| anyhow!("the IdP refused the fault: {e}"))
}

#[given(expr = "the IdP refuses the next refresh with {string}")]
fn refresh_refused(world: &mut DelegationWorld, error: String) -> anyhow::Result<()> {
    world
        .idp
        .control()?
        .push_fault(
            Endpoint::Token,
            Fault::Status {
                status: 400,
                body: json!({ "error": error }).to_string(),
                content_type: "application/json".into(),
            },
            1,
        )
        .map_err(|e| anyhow!("the IdP refused the fault: {e}"))
}

#[then(expr = "the IdP refreshed the consumer's tokens {int} time(s)")]
fn refreshed(world: &mut DelegationWorld, expected: usize) -> anyhow::Result<()> {
    let (issued, presented) = world.refreshes()?;
    ensure!(
        issued == expected && presented as usize == expected,
        "the IdP issued {issued} access tokens by refreshing and saw {presented} refresh requests, expected {expected}"
    );
    Ok(())
}

#[then("each refresh presented the latest rotated refresh token")]
fn rotated_kept(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let grants = world.idp.control()?.grants();
    let refresh: Vec<_> = grants
        .refresh_tokens
        .iter()
        .filter(|r| r.client_id == CLIENT_ID)
        .collect();
    ensure!(
        refresh.len() >= 2,
        "the IdP never rotated a refresh token: {refresh:?}"
    );
    let (last, rotated) = refresh.split_last().expect("two or more");
    for r in rotated {
        ensure!(
            r.presented == 1 && r.state == TokenState::Rotated,
            "a refresh token was presented {} times and is {}: a superseded token was reused",
            r.presented,
            r.state
        );
    }
    ensure!(
        last.presented == 0 && last.state == TokenState::Active,
        "the newest refresh token is {} after {} presentations",
        last.state,
        last.presented
    );
    Ok(())
}
