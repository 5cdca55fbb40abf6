//! The brand IdP seen from the side: what it issued and what was presented
//! to it (its inspection view), and faults at its token endpoint. Codes and
//! tokens are matched by id; no value is printed.

use anyhow::{anyhow, ensure};
use cucumber::given;
use cucumber::then;
use serde_json::Value;
use standin::idp::{Endpoint, Fault};

use super::params::GrantParam;
use super::{CLIENT_ID, DelegationWorld, HTTP_TIMEOUT};

impl DelegationWorld {
    fn queue_token_fault(&self, fault: Fault) -> anyhow::Result<()> {
        self.idp
            .control()?
            .push_fault(Endpoint::Token, fault, 1)
            .map_err(|e| anyhow!("the IdP refused the fault: {e}"))
    }
}

#[given(expr = "the IdP's token endpoint answers status {int} once")]
fn token_status(world: &mut DelegationWorld, status: u16) -> anyhow::Result<()> {
    world.queue_token_fault(Fault::Status {
        status,
        body: r#"{"error":"temporarily_unavailable"}"#.into(),
        content_type: "application/json".into(),
    })
}

#[given("the IdP's token endpoint answers a body that is not JSON once")]
fn token_malformed(world: &mut DelegationWorld) -> anyhow::Result<()> {
    world.queue_token_fault(Fault::MalformedJson)
}

#[given("the IdP's token endpoint answers too late once")]
fn token_late(world: &mut DelegationWorld) -> anyhow::Result<()> {
    // Half a second past the platform's timeout.
    let delay_ms = u64::try_from(HTTP_TIMEOUT.as_millis())? + 500;
    world.queue_token_fault(Fault::Delay { delay_ms })
}

// The steps below read the mock's inspection view. Against an external
// IdP (profile mode) they read the platform's own log of its token
// requests instead (`GET /api/oauth/requests`): what was exchanged and
// what came back, as the platform saw it.

/// The platform's logged token requests by `grant` (any grant for ""),
/// and those of them that succeeded.
async fn platform_sent(
    world: &DelegationWorld,
    grant: &str,
) -> anyhow::Result<(Vec<Value>, Vec<Value>)> {
    let log = world.get_json("/api/oauth/requests").await?;
    let sent: Vec<Value> = log["requests"]
        .as_array()
        .ok_or_else(|| anyhow!("no requests in {log}"))?
        .iter()
        .filter(|r| r["kind"] == "token" && (grant.is_empty() || r["grant_type"] == grant))
        .cloned()
        .collect();
    let ok = sent
        .iter()
        .filter(|r| r["outcome"] == "ok")
        .cloned()
        .collect();
    Ok((sent, ok))
}

#[then(expr = "the IdP issued {int} code(s) and {int} access token(s)")]
async fn issued(world: &mut DelegationWorld, codes: usize, tokens: usize) -> anyhow::Result<()> {
    let Ok(control) = world.idp.control() else {
        let (sent, ok) = platform_sent(world, "authorization_code").await?;
        ensure!(
            sent.len() == codes && ok.len() == tokens,
            "the platform exchanged {} codes and received {} access tokens, expected {codes} and {tokens}",
            sent.len(),
            ok.len()
        );
        return Ok(());
    };
    let grants = control.grants();
    ensure!(
        grants.codes.len() == codes && grants.access_tokens.len() == tokens,
        "the IdP issued {} codes and {} access tokens, expected {codes} and {tokens}",
        grants.codes.len(),
        grants.access_tokens.len()
    );
    ensure!(
        grants
            .access_tokens
            .iter()
            .all(|a| a.client_id == CLIENT_ID),
        "an access token went to another client"
    );
    Ok(())
}

#[then(expr = "the IdP issued {int} access token(s)")]
async fn issued_tokens(world: &mut DelegationWorld, tokens: usize) -> anyhow::Result<()> {
    let issued = match world.idp.control() {
        Ok(control) => control.grants().access_tokens.len(),
        Err(_) => platform_sent(world, "").await?.1.len(),
    };
    ensure!(
        issued == tokens,
        "the IdP issued {issued} access tokens, expected {tokens}"
    );
    Ok(())
}

#[then(expr = "the IdP saw the code presented {int} time(s)")]
async fn code_presented(world: &mut DelegationWorld, expected: u32) -> anyhow::Result<()> {
    let (_, callback) = world
        .callback
        .as_ref()
        .ok_or_else(|| anyhow!("the IdP has not sent the consumer back with a code"))?;
    let code = callback
        .get("code")
        .ok_or_else(|| anyhow!("the redirect carries no code"))?
        .to_string();
    let Ok(control) = world.idp.control() else {
        let (sent, _) = platform_sent(world, "authorization_code").await?;
        ensure!(
            sent.len() == expected as usize,
            "the platform presented a code {} times, expected {expected}",
            sent.len()
        );
        return Ok(());
    };
    let grants = control.grants();
    let record = grants
        .code(&code)
        .ok_or_else(|| anyhow!("the IdP does not list the code of the redirect"))?;
    ensure!(
        record.presented == expected,
        "the code was presented {} times, expected {expected}",
        record.presented
    );
    Ok(())
}

#[then(expr = "the IdP issued {int} refresh token(s) to the platform")]
async fn refresh_issued(world: &mut DelegationWorld, expected: usize) -> anyhow::Result<()> {
    let issued = match world.idp.control() {
        Ok(control) => control
            .grants()
            .refresh_tokens
            .iter()
            .filter(|r| r.client_id == CLIENT_ID)
            .count(),
        Err(_) => {
            let (_, ok) = platform_sent(world, "authorization_code").await?;
            ok.iter()
                .filter(|r| {
                    r["returned"]
                        .as_array()
                        .is_some_and(|names| names.iter().any(|n| n == "refresh_token"))
                })
                .count()
        }
    };
    ensure!(
        issued == expected,
        "the IdP issued {issued} refresh tokens to the platform, expected {expected}"
    );
    Ok(())
}

#[then("no refresh token was ever presented to the IdP")]
async fn refresh_never_presented(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let Ok(control) = world.idp.control() else {
        let (sent, _) = platform_sent(world, "refresh_token").await?;
        ensure!(
            sent.is_empty(),
            "the platform presented refresh tokens: {sent:?}"
        );
        return Ok(());
    };
    let grants = control.grants();
    let presented: Vec<_> = grants
        .refresh_tokens
        .iter()
        .filter(|r| r.presented > 0)
        .collect();
    ensure!(
        presented.is_empty(),
        "refresh tokens were presented: {presented:?}"
    );
    Ok(())
}

#[then(expr = "the IdP issued no access token by the {grant} grant")]
async fn no_grant(world: &mut DelegationWorld, grant: GrantParam) -> anyhow::Result<()> {
    let name = grant.name();
    let grant = grant.0;
    let Ok(control) = world.idp.control() else {
        let (_, by) = platform_sent(world, &name).await?;
        let (_, codes) = platform_sent(world, "authorization_code").await?;
        ensure!(by.is_empty(), "access tokens came from {grant:?}: {by:?}");
        ensure!(
            !codes.is_empty(),
            "the platform received no access token at all"
        );
        return Ok(());
    };
    let grants = control.grants();
    let by: Vec<_> = grants
        .access_tokens
        .iter()
        .filter(|a| a.grant == grant)
        .collect();
    ensure!(by.is_empty(), "access tokens came from {grant:?}: {by:?}");
    ensure!(
        !grants.access_tokens.is_empty(),
        "the IdP issued no access token at all"
    );
    Ok(())
}

#[given(expr = "the IdP's next ID token is {string}")]
fn id_token_defect(world: &mut DelegationWorld, defect: String) -> anyhow::Result<()> {
    let defect: standin::idp::IdTokenDefect = defect.parse().map_err(|e: String| anyhow!(e))?;
    world
        .idp
        .control()?
        .push_id_token_defect(defect, 1)
        .map_err(|e| anyhow!("the IdP refused the defect: {e}"))
}

#[given(expr = "the IdP's token endpoint answers once with status {int} and the JSON {string}")]
fn token_body(world: &mut DelegationWorld, status: u16, body: String) -> anyhow::Result<()> {
    world.queue_token_fault(Fault::Status {
        status,
        body,
        content_type: "application/json".into(),
    })
}

/// From the platform's own log of its outbound OAuth requests: what an
/// external IdP cannot be asked.
#[then(expr = "the platform never asked the IdP for the {string} grant")]
async fn never_grant(world: &mut DelegationWorld, grant: String) -> anyhow::Result<()> {
    let log = world.get_json("/api/oauth/requests").await?;
    let requests = log["requests"]
        .as_array()
        .ok_or_else(|| anyhow!("no requests in {log}"))?;
    ensure!(
        !requests.is_empty(),
        "the platform logged no outbound OAuth request at all: {log}"
    );
    let sent: Vec<&Value> = requests
        .iter()
        .filter(|r| r["grant_type"] == grant.as_str())
        .collect();
    ensure!(
        sent.is_empty(),
        "the platform sent {} {grant} request(s): {sent:?}",
        sent.len()
    );
    Ok(())
}

#[then(expr = "the platform's code exchanges authenticated with {string}")]
async fn exchanges_authenticated(
    world: &mut DelegationWorld,
    method: String,
) -> anyhow::Result<()> {
    let log = world.get_json("/api/oauth/requests").await?;
    let exchanges: Vec<&Value> = log["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["grant_type"] == "authorization_code")
        .collect();
    ensure!(!exchanges.is_empty(), "no code exchange in {log}");
    ensure!(
        exchanges
            .iter()
            .all(|r| r["client_auth"] == method.as_str() && r["outcome"] == "ok"),
        "the code exchanges were {exchanges:?}"
    );
    Ok(())
}
