//! The brand API: faults queued in front of a route, and its request log,
//! which names each request's token by id (a hash), its consumer and how
//! it ended. The log is how a scenario sees which token the platform sent
//! for which conversation.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, ensure};
use cucumber::{given, then};
use standin::brand_api::faults::Fault;
use standin::brand_api::{ApiRoute, RequestLogEntry};
use standin::idp::Fixtures;

use super::params::Route;
use super::{CLIENT_ID, DelegationWorld, consumer};

impl DelegationWorld {
    fn api_log(&self) -> Vec<RequestLogEntry> {
        self.api.control().requests()
    }

    fn expect_api_count(&self, expected: usize) -> anyhow::Result<Vec<RequestLogEntry>> {
        let log = self.api_log();
        ensure!(
            log.len() == expected,
            "the brand API received {} requests, expected {expected}: {log:?}",
            log.len()
        );
        Ok(log)
    }
}

/// The `sub` of a fixture user of the IdP.
pub fn sub_of(username: &str) -> anyhow::Result<String> {
    Fixtures::default_brand()
        .users
        .iter()
        .find(|u| u.username == username)
        .map(|u| u.sub().to_string())
        .ok_or_else(|| anyhow!("the IdP has no user {username:?}"))
}

#[given(
    expr = "the brand API answers the next {route} request with status {int} and the body {string}"
)]
fn api_fault(
    world: &mut DelegationWorld,
    route: Route,
    status: u16,
    body: String,
) -> anyhow::Result<()> {
    world
        .api
        .control()
        .push_fault(
            route.0,
            Fault::Status {
                status,
                body,
                content_type: "application/json".into(),
            },
            1,
        )
        .map_err(|e| anyhow!("the brand API refused the fault: {e:?}"))
}

#[then("the brand API has received no request")]
fn no_request(world: &mut DelegationWorld) -> anyhow::Result<()> {
    world.expect_api_count(0).map(drop)
}

#[then(expr = "the brand API received {int} request(s)")]
fn count(world: &mut DelegationWorld, expected: usize) -> anyhow::Result<()> {
    world.expect_api_count(expected).map(drop)
}

#[then(expr = "the brand API received {int} request(s), for {word}, with the conversation's token")]
fn requests_for(
    world: &mut DelegationWorld,
    expected: usize,
    username: String,
) -> anyhow::Result<()> {
    let log = world.expect_api_count(expected)?;
    // In profile mode alice is the profile's test user.
    let profile = super::profile::current();
    let sub = match profile.as_ref().filter(|_| username == consumer::USERNAME) {
        Some(p) => p
            .user
            .sub
            .clone()
            .unwrap_or_else(|| consumer::ALICE_SUB.into()),
        None => sub_of(&username)?,
    };
    let client_id = world.client_id();
    for entry in &log {
        ensure!(
            entry.status == 200 && entry.sub.as_deref() == Some(sub.as_str()),
            "a request was not served for {username}: {entry:?}"
        );
        ensure!(
            entry.client_id.as_ref().is_some_and(|c| *c == client_id),
            "a request carried a token of another client: {entry:?}"
        );
        let id = entry
            .token_id
            .as_ref()
            .ok_or_else(|| anyhow!("a request carried no token: {entry:?}"))?;
        // What the mock issued; an external IdP cannot be asked.
        let Ok(control) = world.idp.control() else {
            continue;
        };
        let issued = control
            .grants()
            .access_tokens
            .into_iter()
            .find(|a| &a.id == id)
            .ok_or_else(|| anyhow!("the IdP never issued the token the API received"))?;
        ensure!(
            issued.client_id == CLIENT_ID,
            "the token was issued to {}",
            issued.client_id
        );
    }
    let convs: BTreeSet<usize> = world.api_requests.iter().map(|(conv, _)| *conv).collect();
    ensure!(
        convs.iter().all(|c| *c == world.current),
        "brand API requests were caused by other conversations: {convs:?}"
    );
    Ok(())
}

#[then(expr = "the brand API received {int} requests, all with the same token")]
fn same_token(world: &mut DelegationWorld, expected: usize) -> anyhow::Result<()> {
    let log = world.expect_api_count(expected)?;
    let ids: BTreeSet<_> = log.iter().map(|e| e.token_id.clone()).collect();
    ensure!(
        ids.len() == 1 && ids.iter().all(Option::is_some),
        "the requests carried {} different tokens: {log:?}",
        ids.len()
    );
    Ok(())
}

#[then(expr = "the brand API received {int} requests, each with a different token")]
fn different_tokens(world: &mut DelegationWorld, expected: usize) -> anyhow::Result<()> {
    let log = world.expect_api_count(expected)?;
    let ids: BTreeSet<_> = log.iter().filter_map(|e| e.token_id.clone()).collect();
    ensure!(
        ids.len() == expected,
        "the requests carried {} different tokens: {log:?}",
        ids.len()
    );
    Ok(())
}

#[then("the last brand API request carried a different token than the first")]
fn last_differs(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let log = world.api_log();
    let (first, last) = (log.first(), log.last());
    ensure!(
        log.len() >= 2 && first.map(|e| &e.token_id) != last.map(|e| &e.token_id),
        "the first and last requests carried the same token: {log:?}"
    );
    ensure!(
        last.is_some_and(|e| e.status == 200),
        "the last request failed: {last:?}"
    );
    Ok(())
}

#[then(expr = "the brand API answered {int} {route} request(s) with {int} {string}")]
fn answered_with(
    world: &mut DelegationWorld,
    expected: usize,
    route: Route,
    status: u16,
    error: String,
) -> anyhow::Result<()> {
    let path = route.path();
    let log = world.api_log();
    let hits: Vec<_> = log
        .iter()
        .filter(|e| match route.0 {
            ApiRoute::Order => e.path.starts_with(path),
            _ => e.path == path,
        })
        .collect();
    ensure!(
        hits.len() == expected,
        "the brand API received {} {path} requests, expected {expected}: {log:?}",
        hits.len()
    );
    ensure!(
        hits.iter()
            .all(|e| e.status == status && e.error.as_deref() == Some(error.as_str())),
        "the {path} requests were not all answered {status} {error}: {hits:?}"
    );
    Ok(())
}

#[then("the brand API saw one token per conversation, never the same token in two conversations")]
fn tokens_per_conversation(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let mut by_conv: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for (conv, entry) in &world.api_requests {
        let id = entry
            .token_id
            .clone()
            .ok_or_else(|| anyhow!("a request carried no token: {entry:?}"))?;
        by_conv.entry(*conv).or_default().insert(id);
    }
    ensure!(
        by_conv.len() >= 2,
        "only {} conversation(s) reached the brand API",
        by_conv.len()
    );
    let mut seen: BTreeMap<&String, usize> = BTreeMap::new();
    for (conv, ids) in &by_conv {
        let label = &world.conversation(*conv)?.label;
        ensure!(
            ids.len() == 1,
            "conversation {label} used {} tokens",
            ids.len()
        );
        for id in ids {
            if let Some(other) = seen.insert(id, *conv) {
                let other = &world.conversation(other)?.label;
                anyhow::bail!("conversations {other} and {label} used the same token");
            }
        }
    }
    Ok(())
}
