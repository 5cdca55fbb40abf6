//! The platform's token endpoint for brand services and the Get Tokens
//! API (features/credentials/get_tokens.feature).

use super::*;

// --- the platform's token endpoint ----------------------------------------------

#[given(expr = "the brand service {string} has a token from the platform")]
#[when(expr = "the brand service {string} gets a token from the platform")]
async fn service_has_token(world: &mut DelegationWorld, client_id: String) -> anyhow::Result<()> {
    let answer = world
        .get_tokens
        .client_credentials(&client_id, service_secret(&client_id))
        .await?;
    answer.expect(200, "")?;
    let token = answer.body["access_token"]
        .as_str()
        .ok_or_else(|| anyhow!("the token endpoint answered no access token: {answer:?}"))?;
    world
        .pre_auth
        .service_tokens
        .insert(client_id, Secret::new(token));
    world.pre_auth.token_answer = Some(answer);
    Ok(())
}

#[when(regex = r#"^the brand service "([^"]+)" sends a token request (.+)$"#)]
async fn token_request(
    world: &mut DelegationWorld,
    client_id: String,
    how: String,
) -> anyhow::Result<()> {
    let secret = service_secret(&client_id);
    let grant = "grant_type=client_credentials";
    let post = |id: &str, secret: &str| {
        format!(
            "{grant}&client_id={}&client_secret={}",
            encode(id),
            encode(secret)
        )
    };
    let request = world.get_tokens.token_request();
    let request = match how.as_str() {
        "authenticated by client_secret_basic" => {
            request.basic_auth(&client_id, Some(secret)).body(grant)
        }
        "authenticated by client_secret_post" => request.body(post(&client_id, secret)),
        "with a wrong secret by client_secret_basic" => request
            .basic_auth(&client_id, Some("not-the-secret-of-this-service"))
            .body(grant),
        "with a wrong secret by client_secret_post" => {
            request.body(post(&client_id, "not-the-secret-of-this-service"))
        }
        "from an unknown client" => request
            .basic_auth("no-such-service", Some(secret))
            .body(grant),
        "without client authentication" => request.body(grant),
        "authenticated by both methods" => request
            .basic_auth(&client_id, Some(secret))
            .body(post(&client_id, secret)),
        "for the password grant" => request
            .basic_auth(&client_id, Some(secret))
            .body("grant_type=password&username=alice&password=alice-password"),
        "without a grant type" => request.basic_auth(&client_id, Some(secret)).body("scope="),
        "with a repeated grant type" => request
            .basic_auth(&client_id, Some(secret))
            .body(format!("{grant}&{grant}")),
        "for a scope it may not have" => request.basic_auth(&client_id, Some(secret)).body(
            format!("{grant}&scope=delegated.token.read.external+reports.read"),
        ),
        "with a JSON body" => world
            .get_tokens
            .bare_token_request()
            .basic_auth(&client_id, Some(secret))
            .json(&json!({ "grant_type": "client_credentials" })),
        other => anyhow::bail!("no token request {other:?} is known to this step"),
    };
    world.pre_auth.token_answer = Some(world.get_tokens.send(request).await?);
    Ok(())
}

#[then(expr = "the token endpoint answers {int} {string}")]
fn token_answered(world: &mut DelegationWorld, status: u16, error: String) -> anyhow::Result<()> {
    let answer = world
        .pre_auth
        .token_answer
        .as_ref()
        .ok_or_else(|| anyhow!("no token request was sent"))?;
    answer.expect(status, &error)?;
    ensure!(
        answer.cache_control.as_deref() == Some("no-store"),
        "the token endpoint's answer may be cached (RFC 6749 5.1): {answer:?}"
    );
    match status {
        200 => {
            let b = &answer.body;
            ensure!(
                b["token_type"] == "Bearer"
                    && b["scope"] == "delegated.token.read.external"
                    && b["expires_in"] == 600
                    && b["access_token"].as_str().is_some_and(|t| t.len() >= 43),
                "not a client credentials token answer: {answer:?} (scope {}, expires_in {})",
                b["scope"],
                b["expires_in"]
            );
        }
        401 => ensure!(
            answer
                .www_authenticate
                .as_deref()
                .is_some_and(|c| c.starts_with("Basic realm=")),
            "a 401 without a Basic challenge (RFC 6749 5.2): {answer:?}"
        ),
        _ => {}
    }
    Ok(())
}

// --- the Get Tokens API ----------------------------------------------------------

#[when(expr = "the brand service {string} reads the tokens of {string}")]
async fn service_reads(
    world: &mut DelegationWorld,
    client_id: String,
    username: String,
) -> anyhow::Result<()> {
    let token = world.service_token(&client_id)?;
    let id = world.consumer_id(&username)?;
    world.read_tokens(Bearer::Token(&token), ACCOUNT, &id).await
}

#[when(expr = "the brand service {string} reads the tokens of {string} in account {string}")]
async fn service_reads_in(
    world: &mut DelegationWorld,
    client_id: String,
    username: String,
    account: String,
) -> anyhow::Result<()> {
    let token = world.service_token(&client_id)?;
    let id = world.consumer_id(&username)?;
    world
        .read_tokens(Bearer::Token(&token), &account, &id)
        .await
}

#[when(expr = "the brand service {string} reads the tokens of the consumer id {string}")]
async fn service_reads_id(
    world: &mut DelegationWorld,
    client_id: String,
    id: String,
) -> anyhow::Result<()> {
    let token = world.service_token(&client_id)?;
    world.read_tokens(Bearer::Token(&token), ACCOUNT, &id).await
}

#[when(expr = "the brand service {string} reads the tokens of a consumer id of {int} characters")]
async fn service_reads_long_id(
    world: &mut DelegationWorld,
    client_id: String,
    len: usize,
) -> anyhow::Result<()> {
    let token = world.service_token(&client_id)?;
    world
        .read_tokens(Bearer::Token(&token), ACCOUNT, &"c".repeat(len))
        .await
}

#[when(expr = "a caller reads the tokens of {string} without a token")]
async fn reads_without_token(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let id = world.consumer_id(&username)?;
    world.read_tokens(Bearer::None, ACCOUNT, &id).await
}

#[when(expr = "a caller reads the tokens of {string} with the bearer token {string}")]
async fn reads_with_token(
    world: &mut DelegationWorld,
    username: String,
    token: String,
) -> anyhow::Result<()> {
    let id = world.consumer_id(&username)?;
    world.read_tokens(Bearer::Token(&token), ACCOUNT, &id).await
}

#[when(expr = "a caller reads the tokens of {string} with Basic credentials of {string}")]
async fn reads_with_basic(
    world: &mut DelegationWorld,
    username: String,
    client_id: String,
) -> anyhow::Result<()> {
    let id = world.consumer_id(&username)?;
    let basic = Bearer::Basic(&client_id, service_secret(&client_id));
    world.read_tokens(basic, ACCOUNT, &id).await
}

#[when(
    expr = "the brand service {string} reads the tokens of {string} {int} times at the same moment"
)]
async fn reads_concurrently(
    world: &mut DelegationWorld,
    client_id: String,
    username: String,
    count: usize,
) -> anyhow::Result<()> {
    let token = world.service_token(&client_id)?;
    let id = world.consumer_id(&username)?;
    let answers = world
        .get_tokens
        .read_concurrently(&token, ACCOUNT, &id, count)
        .await?;
    world.pre_auth.tokens_answers.extend(answers);
    world.pre_auth.last_reads = count;
    Ok(())
}

#[then(expr = "the Get Tokens API answers {int} {string}")]
fn tokens_answered(world: &mut DelegationWorld, status: u16, error: String) -> anyhow::Result<()> {
    let answer = world.last_tokens_answer()?;
    answer.expect(status, &error)?;
    ensure!(
        answer.cache_control.as_deref() == Some("no-store"),
        "the answer may be cached: {answer:?}"
    );
    ensure!(
        answer.body.get("access_token").is_none(),
        "a refused read carries a token"
    );
    Ok(())
}

#[then(expr = "the Get Tokens API answers 200 with the tokens of {string}")]
fn tokens_of(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let sub = sub_of(&username)?;
    let now = world.clock.now();
    let answer = world.last_tokens_answer()?;
    answer.expect(200, "")?;
    let b = &answer.body;
    ensure!(
        b["consumer_id"] == sub.as_str(),
        "the tokens are for {}",
        b["consumer_id"]
    );
    ensure!(
        b["token_type"] == "Bearer",
        "token_type is {}",
        b["token_type"]
    );
    ensure!(
        b["expires_at"]
            .as_i64()
            .is_some_and(|e| e > now.unix_secs()),
        "the access token is not current: expires_at {} at {now}",
        b["expires_at"]
    );
    let access = b["access_token"]
        .as_str()
        .ok_or_else(|| anyhow!("no access_token"))?;
    ensure!(
        jwt_claims(access)?["sub"] == sub.as_str(),
        "the access token is not {username}'s"
    );
    let id_token = b["id_token"]
        .as_str()
        .ok_or_else(|| anyhow!("no id_token"))?;
    let claims = jwt_claims(id_token)?;
    ensure!(
        claims["sub"] == sub.as_str(),
        "the ID token is not {username}'s"
    );
    ensure!(
        claims["aud"] == CLIENT_ID || claims["aud"][0] == CLIENT_ID,
        "the ID token is for {}",
        claims["aud"]
    );
    ensure!(
        b.get("refresh_token").is_none(),
        "the Get Tokens API gives the refresh token away"
    );
    Ok(())
}

#[then("the answer may not be cached")]
fn not_cached(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let answer = world.last_tokens_answer()?;
    ensure!(
        answer.cache_control.as_deref() == Some("no-store"),
        "Cache-Control is {:?}",
        answer.cache_control
    );
    Ok(())
}

#[then(expr = "the answer challenges with {string}")]
fn challenges_with(world: &mut DelegationWorld, part: String) -> anyhow::Result<()> {
    let answer = world.last_tokens_answer()?;
    let challenge = answer
        .www_authenticate
        .as_deref()
        .ok_or_else(|| anyhow!("the answer has no WWW-Authenticate: {answer:?}"))?;
    ensure!(
        challenge.starts_with("Bearer ") && challenge.contains(&part),
        "the challenge {challenge:?} does not say {part:?}"
    );
    Ok(())
}

#[then("the challenge carries no error code")]
fn challenge_without_error(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let answer = world.last_tokens_answer()?;
    let challenge = answer.www_authenticate.as_deref().unwrap_or_default();
    ensure!(
        !challenge.contains("error="),
        "a request without authentication got an error code (RFC 6750 3.1): {challenge:?}"
    );
    Ok(())
}

#[then(expr = "the answer says {string}")]
fn answer_says(world: &mut DelegationWorld, part: String) -> anyhow::Result<()> {
    let answer = world.last_tokens_answer()?;
    let description = answer.body["error_description"]
        .as_str()
        .unwrap_or_default();
    ensure!(
        description.contains(&part),
        "the answer says {description:?}"
    );
    Ok(())
}

#[then("the access token read differs from the one read before")]
fn token_changed(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let answers = &world.pre_auth.tokens_answers;
    ensure!(
        answers.len() >= 2,
        "the tokens were read {} times",
        answers.len()
    );
    let [.., before, last] = answers.as_slice() else {
        unreachable!("two or more")
    };
    ensure!(
        before.body["access_token"].is_string()
            && last.body["access_token"] != before.body["access_token"],
        "the same access token was read twice"
    );
    Ok(())
}

#[then(expr = "all {int} answers are 200 with the same access token")]
fn all_same(world: &mut DelegationWorld, count: usize) -> anyhow::Result<()> {
    ensure!(
        world.pre_auth.last_reads == count,
        "{} reads were made",
        world.pre_auth.last_reads
    );
    let answers = &world.pre_auth.tokens_answers[world.pre_auth.tokens_answers.len() - count..];
    for a in answers {
        a.expect(200, "")?;
    }
    let first = &answers[0].body["access_token"];
    ensure!(
        answers.iter().all(|a| &a.body["access_token"] == first),
        "the concurrent reads got different access tokens"
    );
    Ok(())
}

#[then(
    expr = "with the access token read for {string} the brand API shows the profile of {string}"
)]
async fn profile_with_token(
    world: &mut DelegationWorld,
    username: String,
    name: String,
) -> anyhow::Result<()> {
    let sub = sub_of(&username)?;
    let token = world
        .pre_auth
        .tokens_answers
        .iter()
        .rev()
        .find(|a| a.body["consumer_id"] == sub.as_str())
        .and_then(|a| a.body["access_token"].as_str())
        .ok_or_else(|| anyhow!("no access token was read for {username}"))?
        .to_string();
    let response = world
        .http
        .get(format!("{}/api/me", world.api.url().trim_end_matches('/')))
        .bearer_auth(token)
        .send()
        .await
        .context("the brand API did not answer")?;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or_default();
    ensure!(
        status == 200,
        "the brand API answered {status}: {}",
        body["error"]
    );
    ensure!(
        body["name"] == name.as_str() && body["sub"] == sub.as_str(),
        "the brand API shows the profile of {} ({})",
        body["name"],
        body["sub"]
    );
    Ok(())
}
