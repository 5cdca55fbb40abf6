//! The credential, and consumers signing in on the brand's website: the
//! platform's consumer sessions (features/credentials/pre_authentication.feature).

use super::*;

// --- the credential ----------------------------------------------------------

#[given(expr = "the organisation {string} has the Consumer Pre-Authentication credential {string}")]
async fn has_credential(
    world: &mut DelegationWorld,
    org: String,
    name: String,
) -> anyhow::Result<()> {
    let body = json!({ "type": "consumer_pre_authentication", "name": name }).to_string();
    let (status, answer) = world
        .credential_request(
            reqwest::Method::POST,
            &format!("/api/orgs/{org}/credentials"),
            Some(&body),
        )
        .await?;
    ensure!(
        status == 201,
        "the credential was not saved ({status}): {answer}"
    );
    Ok(())
}

// --- signing in on the brand's website -----------------------------------------

#[given(expr = "{string} has signed in on the brand's website")]
async fn has_signed_in(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let answer = world
        .sign_in_on_brand_site(&username, ACCOUNT, |_| {})
        .await?;
    answer.expect(201, "")?;
    let expected = sub_of(&username)?;
    ensure!(
        answer.body["consumer_id"] == expected.as_str(),
        "the platform answered the consumer id {}, the IdP's sub is {expected}",
        answer.body["consumer_id"]
    );
    Ok(())
}

#[when(expr = "{string} signs in on the brand's website")]
async fn signs_in(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    world
        .sign_in_on_brand_site(&username, ACCOUNT, |_| {})
        .await
        .map(drop)
}

#[when(expr = "{string} signs in on the brand's website of account {string}")]
async fn signs_in_account(
    world: &mut DelegationWorld,
    username: String,
    account: String,
) -> anyhow::Result<()> {
    world
        .sign_in_on_brand_site(&username, &account, |_| {})
        .await
        .map(drop)
}

#[when(expr = "{string} signs in on the brand's website but the page hands over another {word}")]
async fn signs_in_tampered(
    world: &mut DelegationWorld,
    username: String,
    what: String,
) -> anyhow::Result<()> {
    let field = match what.as_str() {
        "verifier" => "code_verifier",
        "nonce" => "nonce",
        other => anyhow::bail!("the page hands over a verifier or a nonce, not {other:?}"),
    };
    let replacement = random_token(32);
    world
        .sign_in_on_brand_site(&username, ACCOUNT, |body| {
            body[field] = Value::String(replacement);
        })
        .await
        .map(drop)
}

#[when("the brand's page hands the same code to the platform again")]
async fn same_code_again(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let sign_in = world
        .pre_auth
        .last_sign_in
        .as_ref()
        .ok_or_else(|| anyhow!("nobody signed in on the brand's website yet"))?;
    let body = sign_in.code.hand_over_body(BRAND_PAGE);
    world.hand_over(ACCOUNT, body).await.map(drop)
}

#[then(expr = "the platform starts a consumer session for {string}")]
fn session_started(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let answer = world
        .pre_auth
        .session_answer
        .as_ref()
        .ok_or_else(|| anyhow!("no code was handed to the platform"))?;
    answer.expect(201, "")?;
    ensure!(
        answer.cache_control.as_deref() == Some("no-store"),
        "the answer may be cached: {answer:?}"
    );
    ensure!(
        answer.body["consumer_id"] == sub_of(&username)?.as_str(),
        "the session is for {}",
        answer.body["consumer_id"]
    );
    let ttl = world.platform.state().options.consumer_session_ttl_secs;
    let ends =
        answer.body["expires_at"].as_i64().unwrap_or_default() - world.clock.now().unix_secs();
    ensure!(
        (ttl - 1..=ttl).contains(&ends),
        "the session ends in {ends} seconds, expected {ttl}"
    );
    let keys: Vec<&String> = answer
        .body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    ensure!(
        keys == ["consumer_id", "expires_at", "session_token"],
        "the answer carries more than the consumer id, the session's end and its handle: {keys:?}"
    );
    let handle = answer.body["session_token"].as_str().unwrap_or_default();
    let decoded = URL_SAFE_NO_PAD.decode(handle).unwrap_or_default();
    ensure!(
        decoded.len() >= 32,
        "the session token is not 256 bits or more of base64url"
    );
    ensure!(
        world.idp.control()?.grants().access_token(handle).is_none()
            && world
                .idp
                .control()?
                .grants()
                .refresh_token(handle)
                .is_none(),
        "the session token is a token of the IdP's"
    );
    Ok(())
}

#[then(expr = "the platform refuses the sign-in with {int} {string}")]
fn sign_in_refused(world: &mut DelegationWorld, status: u16, error: String) -> anyhow::Result<()> {
    let answer = world
        .pre_auth
        .session_answer
        .as_ref()
        .ok_or_else(|| anyhow!("no code was handed to the platform"))?;
    answer.expect(status, &error)
}

#[then("the code of the sign-in was never presented to the IdP")]
fn code_not_presented(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let sign_in = world
        .pre_auth
        .last_sign_in
        .as_ref()
        .ok_or_else(|| anyhow!("nobody signed in on the brand's website yet"))?;
    let grants = world.idp.control()?.grants();
    let code = grants
        .code(sign_in.code.code.expose())
        .ok_or_else(|| anyhow!("the IdP does not list the code"))?;
    ensure!(
        code.presented == 0,
        "the code was presented {} times",
        code.presented
    );
    Ok(())
}

#[when(expr = "the brand ends the consumer session of {string}")]
async fn end_session(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let id = world.consumer_id(&username)?;
    world.pre_auth.session_answer = Some(world.brand_site.end_session(ACCOUNT, &id).await?);
    Ok(())
}

#[then(expr = "ending the session is answered {int}")]
fn end_answered(world: &mut DelegationWorld, status: u16) -> anyhow::Result<()> {
    let answer = world
        .pre_auth
        .session_answer
        .as_ref()
        .ok_or_else(|| anyhow!("no session was ended"))?;
    let error = if status == 404 { "not_found" } else { "" };
    answer.expect(status, error)
}

#[when("the consumer session's lifetime passes")]
fn lifetime_passes(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let ttl = world.platform.state().options.consumer_session_ttl_secs;
    world
        .clock
        .advance(std::time::Duration::from_secs(u64::try_from(ttl)? + 1));
    Ok(())
}

#[then(expr = "the platform keeps tokens for the consumers {string}")]
fn keeps_tokens_for(world: &mut DelegationWorld, usernames: String) -> anyhow::Result<()> {
    let mut want = usernames
        .split(',')
        .map(|u| sub_of(u.trim()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    want.sort();
    let got = world.live_consumers()?;
    ensure!(
        got == want,
        "the platform keeps tokens for {got:?}, expected {want:?}"
    );
    Ok(())
}

#[then(expr = "the platform keeps no tokens for {string}")]
fn keeps_no_tokens_for(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let sub = sub_of(&username)?;
    let got = world.live_consumers()?;
    ensure!(
        !got.contains(&sub),
        "the platform still keeps tokens for {username}"
    );
    Ok(())
}
