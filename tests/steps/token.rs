//! The token endpoint, server to server (RFC 6749 4.1.3, 4.4, 5, 6), and the
//! tokens it returns (OIDC Core 3.1.3).

use anyhow::{Context as _, anyhow, bail, ensure};
use base64::Engine as _;
use cucumber::{then, when};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::Value;
use standin::conformance::profile::TokenEndpointAuth;
use standin::secret::Secret;

use super::clients::{ClientUnderTest, basic};
use super::http::Exchange;
use super::params::{AuthStyle, Forgery, IdTokenCheck, TokenKind, Which};
use super::{IdpWorld, expect_string_claim, scope_values, unix_now};

/// One successful token response.
#[derive(Clone, Debug)]
pub struct TokenSet {
    pub access_token: Secret,
    pub token_type: String,
    pub expires_in: Option<i64>,
    pub refresh_token: Option<Secret>,
    pub id_token: Option<Secret>,
    pub scope: Option<String>,
    /// The `grant_type` of the request that produced it.
    pub grant_type: String,
}

impl TokenSet {
    fn from_exchange(exchange: &Exchange) -> anyhow::Result<Self> {
        let secret = |name: &str| {
            exchange
                .member(name)
                .and_then(Value::as_str)
                .map(Secret::new)
        };
        Ok(Self {
            access_token: secret("access_token")
                .ok_or_else(|| anyhow!("no access_token in {}", exchange.summary()))?,
            token_type: exchange.string("token_type")?.to_string(),
            expires_in: exchange.member("expires_in").and_then(Value::as_i64),
            refresh_token: secret("refresh_token"),
            id_token: secret("id_token"),
            scope: exchange
                .member("scope")
                .and_then(Value::as_str)
                .map(str::to_string),
            grant_type: String::new(),
        })
    }
}

impl IdpWorld {
    /// POST a form to the token endpoint as `client`, record the answer
    /// and, when it is a success, the tokens.
    pub async fn token_request(
        &mut self,
        client: &ClientUnderTest,
        style: TokenEndpointAuth,
        mut form: Vec<(String, String)>,
    ) -> anyhow::Result<()> {
        let endpoint = self.endpoint("token_endpoint").await?;
        let request = client.authenticate(self.http.post(&endpoint), &mut form, style);
        self.post_token_form(request, form).await
    }

    async fn post_token_form(
        &mut self,
        request: reqwest::RequestBuilder,
        form: Vec<(String, String)>,
    ) -> anyhow::Result<()> {
        self.unanswered = None;
        let exchange = Exchange::send(request.form(&form))
            .await
            .context("POST to the token endpoint")?;
        // A 200 that is not a token response (an injected fault) is kept as
        // the exchange only; `token_success` refuses it.
        if exchange.status == 200
            && let Ok(mut tokens) = TokenSet::from_exchange(&exchange)
        {
            tokens.grant_type = form
                .iter()
                .find(|(k, _)| k == "grant_type")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            self.tokens.push(tokens);
        }
        self.exchange = Some(exchange);
        Ok(())
    }

    /// The authorization code grant form for the last code received.
    fn code_form(&self, verifier: Verifier) -> anyhow::Result<Vec<(String, String)>> {
        let code = self
            .code
            .as_ref()
            .ok_or_else(|| anyhow!("the IdP has not redirected back with a code"))?;
        let sent = self.sent()?;
        let mut form = vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("code".to_string(), code.expose().to_string()),
        ];
        if let Some(redirect_uri) = &sent.redirect_uri {
            form.push(("redirect_uri".into(), redirect_uri.clone()));
        }
        match verifier {
            Verifier::FromLink => {
                if let Some(pkce) = &sent.pkce {
                    form.push(("code_verifier".into(), pkce.verifier.expose().to_string()));
                }
            }
            Verifier::None => {}
            Verifier::This(value) => form.push(("code_verifier".into(), value)),
        }
        Ok(form)
    }

    /// POST a form to the token endpoint as the bot's client, authenticated
    /// the way it is configured to.
    pub async fn bot_token_request(&mut self, form: Vec<(String, String)>) -> anyhow::Result<()> {
        let client = self.client.clone();
        self.token_request(&client, client.auth, form).await
    }

    /// POST a form to the token endpoint with this `Authorization` header
    /// and no other client authentication.
    async fn token_request_authorized(
        &mut self,
        authorization: String,
        form: Vec<(String, String)>,
    ) -> anyhow::Result<()> {
        let endpoint = self.endpoint("token_endpoint").await?;
        let request = self
            .http
            .post(&endpoint)
            .header(reqwest::header::AUTHORIZATION, authorization);
        self.post_token_form(request, form).await
    }

    pub async fn exchange_code(&mut self, verifier: Verifier) -> anyhow::Result<()> {
        let form = self.code_form(verifier)?;
        self.bot_token_request(form).await
    }

    /// The code grant form with the verifier from the link, changed by
    /// `edit`, sent as the bot's client.
    async fn exchange_code_edited(
        &mut self,
        edit: impl FnOnce(&mut Vec<(String, String)>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut form = self.code_form(Verifier::FromLink)?;
        edit(&mut form)?;
        self.bot_token_request(form).await
    }

    /// The bot's client and its secret, for steps that spell out the
    /// client authentication themselves.
    fn bot_secret(&self) -> anyhow::Result<(ClientUnderTest, Secret)> {
        let client = self.client.clone();
        let secret = client
            .secret
            .clone()
            .ok_or_else(|| anyhow!("the bot's client has no secret"))?;
        Ok((client, secret))
    }

    /// A token response by position.
    pub fn token_set(&self, which: Which) -> anyhow::Result<&TokenSet> {
        which
            .index(self.tokens.len())
            .and_then(|i| self.tokens.get(i))
            .ok_or_else(|| {
                anyhow!(
                    "there is no {which:?} token response ({} received)",
                    self.tokens.len()
                )
            })
    }

    /// The last exchange must be a successful token response.
    pub fn token_success(&self) -> anyhow::Result<&Exchange> {
        let exchange = self.exchange()?;
        ensure!(
            exchange.status == 200,
            "expected a token response, got {}",
            exchange.summary()
        );
        TokenSet::from_exchange(exchange)
            .with_context(|| format!("expected a token response, got {}", exchange.summary()))?;
        Ok(exchange)
    }

    /// The refresh grant form for a refresh token the bot received.
    fn refresh_form(&self, which: Which) -> anyhow::Result<Vec<(String, String)>> {
        let refresh = self.token_value(which, TokenKind::Refresh)?;
        Ok(vec![
            ("grant_type".to_string(), "refresh_token".to_string()),
            ("refresh_token".to_string(), refresh.expose().to_string()),
        ])
    }

    pub async fn refresh_with(&mut self, which: Which) -> anyhow::Result<()> {
        let form = self.refresh_form(which)?;
        self.bot_token_request(form).await
    }

    /// The ID token of a token response.
    pub fn id_token(&self, which: Which) -> anyhow::Result<Secret> {
        self.token_set(which)?
            .id_token
            .clone()
            .ok_or_else(|| anyhow!("the {which:?} token response had no ID token"))
    }

    /// `expires_in` of the latest token response.
    pub fn expires_in(&self) -> anyhow::Result<i64> {
        self.token_set(Which::Latest)?
            .expires_in
            .ok_or_else(|| anyhow!("the token response has no expires_in (RFC 6749 5.1)"))
    }
}

/// The client credentials grant form, with a scope or without.
fn client_credentials_form(scope: Option<String>) -> Vec<(String, String)> {
    let mut form = vec![("grant_type".to_string(), "client_credentials".to_string())];
    form.extend(scope.map(|scope| ("scope".to_string(), scope)));
    form
}

/// What `code_verifier` a code exchange sends.
pub enum Verifier {
    /// The one matching the link's challenge, if the link had one.
    FromLink,
    None,
    This(String),
}

// --- requests ----------------------------------------------------------------

#[when("the bot exchanges the code")]
async fn exchange_code(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.exchange_code(Verifier::FromLink).await
}

#[when("the bot exchanges the same code again")]
async fn exchange_code_again(world: &mut IdpWorld) -> anyhow::Result<()> {
    ensure!(
        !world.tokens.is_empty() || world.exchange.is_some(),
        "the code has not been exchanged a first time"
    );
    world.exchange_code(Verifier::FromLink).await
}

#[when(expr = "the bot exchanges the code with the code verifier {string}")]
async fn exchange_code_verifier(world: &mut IdpWorld, verifier: String) -> anyhow::Result<()> {
    world.exchange_code(Verifier::This(verifier)).await
}

#[when("the bot exchanges the code with a wrong code verifier")]
async fn exchange_code_wrong_verifier(world: &mut IdpWorld) -> anyhow::Result<()> {
    // Well-formed (43 unreserved characters), just not the one.
    let wrong = standin::secret::random_token(32);
    world.exchange_code(Verifier::This(wrong)).await
}

#[when("the bot exchanges the code without a code verifier")]
async fn exchange_code_no_verifier(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.exchange_code(Verifier::None).await
}

#[when(expr = "the bot exchanges the code authenticating with {auth}")]
async fn exchange_code_auth(world: &mut IdpWorld, style: AuthStyle) -> anyhow::Result<()> {
    let form = world.code_form(Verifier::FromLink)?;
    let client = world.client.clone();
    let style = match style {
        AuthStyle::Basic => TokenEndpointAuth::ClientSecretBasic,
        AuthStyle::Body => TokenEndpointAuth::ClientSecretPost,
    };
    world.token_request(&client, style, form).await
}

#[when(expr = "the bot exchanges the code with the client secret {string} in a Basic header")]
async fn exchange_code_wrong_secret(world: &mut IdpWorld, secret: String) -> anyhow::Result<()> {
    let form = world.code_form(Verifier::FromLink)?;
    let authorization = basic(&world.client.id, &Secret::new(secret));
    world.token_request_authorized(authorization, form).await
}

#[when(
    expr = "the client {string} with secret {string} asks for a token with client credentials and scope {string}"
)]
async fn client_credentials(
    world: &mut IdpWorld,
    id: String,
    secret: String,
    scope: String,
) -> anyhow::Result<()> {
    let client = ClientUnderTest::confidential(&id, &secret);
    let form = client_credentials_form(Some(scope));
    world.token_request(&client, client.auth, form).await
}

#[when(expr = "the public client {string} exchanges the code")]
async fn public_client_exchanges(world: &mut IdpWorld, id: String) -> anyhow::Result<()> {
    let form = world.code_form(Verifier::FromLink)?;
    let client = ClientUnderTest::public(&id);
    world.token_request(&client, client.auth, form).await
}

#[when(expr = "the bot exchanges the code giving the redirect URI {string}")]
async fn exchange_code_other_redirect(world: &mut IdpWorld, uri: String) -> anyhow::Result<()> {
    world
        .exchange_code_edited(|form| {
            form.retain(|(k, _)| k != "redirect_uri");
            form.push(("redirect_uri".into(), uri));
            Ok(())
        })
        .await
}

#[when("the bot refreshes the tokens")]
async fn refresh(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.refresh_with(Which::Latest).await
}

#[when(expr = "the bot refreshes the tokens with the {which} refresh token")]
async fn refresh_with(world: &mut IdpWorld, which: Which) -> anyhow::Result<()> {
    world.refresh_with(which).await
}

#[when(expr = "the bot asks for a token with the grant type {string}")]
async fn unsupported_grant(world: &mut IdpWorld, grant_type: String) -> anyhow::Result<()> {
    let user = world.user.clone();
    let form = vec![
        ("grant_type".to_string(), grant_type),
        ("username".to_string(), user.username.clone()),
        ("password".to_string(), user.password.expose().to_string()),
    ];
    world.bot_token_request(form).await
}

#[when("the bot exchanges the code without saying which grant type it uses")]
async fn exchange_without_grant_type(world: &mut IdpWorld) -> anyhow::Result<()> {
    world
        .exchange_code_edited(|form| {
            form.retain(|(k, _)| k != "grant_type");
            Ok(())
        })
        .await
}

#[when(expr = "the bot exchanges the code sending the {string} parameter twice")]
async fn exchange_repeating(world: &mut IdpWorld, name: String) -> anyhow::Result<()> {
    world
        .exchange_code_edited(|form| {
            let value = form
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| anyhow!("the code exchange has no {name:?} parameter to repeat"))?;
            form.push((name, value));
            Ok(())
        })
        .await
}

#[when(
    "the bot exchanges the code authenticating with both a Basic header and the client secret in the body"
)]
async fn exchange_both_auth(world: &mut IdpWorld) -> anyhow::Result<()> {
    let mut form = world.code_form(Verifier::FromLink)?;
    let (client, secret) = world.bot_secret()?;
    form.push(("client_id".into(), client.id.clone()));
    form.push(("client_secret".into(), secret.expose().to_string()));
    let authorization = basic(&client.id, &secret);
    world.token_request_authorized(authorization, form).await
}

#[when("the bot exchanges the code with its secret in a Basic header without form-encoding it")]
async fn exchange_raw_basic(world: &mut IdpWorld) -> anyhow::Result<()> {
    let form = world.code_form(Verifier::FromLink)?;
    let (client, secret) = world.bot_secret()?;
    let raw = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        client.id,
        secret.expose()
    ));
    world
        .token_request_authorized(format!("Basic {raw}"), form)
        .await
}

#[when(expr = "the public client {string} refreshes with the bot's refresh token")]
async fn public_client_refreshes(world: &mut IdpWorld, id: String) -> anyhow::Result<()> {
    let form = world.refresh_form(Which::Latest)?;
    let client = ClientUnderTest::public(&id);
    world.token_request(&client, client.auth, form).await
}

#[when(
    expr = "the client {string} with secret {string} asks for a token with client credentials and no scope"
)]
async fn client_credentials_no_scope(
    world: &mut IdpWorld,
    id: String,
    secret: String,
) -> anyhow::Result<()> {
    let client = ClientUnderTest::confidential(&id, &secret);
    let form = client_credentials_form(None);
    world.token_request(&client, client.auth, form).await
}

#[when(expr = "the public client {string} asks for a token with client credentials")]
async fn public_client_credentials(world: &mut IdpWorld, id: String) -> anyhow::Result<()> {
    let client = ClientUnderTest::public(&id);
    let form = client_credentials_form(None);
    world.token_request(&client, client.auth, form).await
}

#[when(expr = "the bot exchanges the code giving up after {int} ms")]
async fn exchange_with_timeout(world: &mut IdpWorld, timeout_ms: u64) -> anyhow::Result<()> {
    let mut form = world.code_form(Verifier::FromLink)?;
    let client = world.client.clone();
    let endpoint = world.endpoint("token_endpoint").await?;
    let request = client
        .authenticate(world.http.post(&endpoint), &mut form, client.auth)
        .timeout(std::time::Duration::from_millis(timeout_ms))
        .form(&form);
    match request.send().await {
        Ok(response) => {
            world.unanswered = None;
            world.exchange = None;
            bail!(
                "the token endpoint answered {} within {timeout_ms} ms",
                response.status()
            )
        }
        Err(e) if e.is_timeout() => {
            world.unanswered = Some(format!("no answer within {timeout_ms} ms"));
            Ok(())
        }
        Err(e) => Err(anyhow!(
            "the token request failed, but not by timing out: {e}"
        )),
    }
}

#[then("the bot's request times out")]
fn request_timed_out(world: &mut IdpWorld) -> anyhow::Result<()> {
    ensure!(
        world.unanswered.is_some(),
        "expected the last request to time out, but it was answered"
    );
    Ok(())
}

// --- answers -----------------------------------------------------------------

/// The last exchange is a successful token response with a Bearer token:
/// its tokens.
fn bearer_response(world: &IdpWorld) -> anyhow::Result<&TokenSet> {
    world.token_success()?;
    let tokens = world.token_set(Which::Latest)?;
    ensure!(
        tokens.token_type.eq_ignore_ascii_case("bearer"),
        "token_type must be Bearer, got {:?}",
        tokens.token_type
    );
    Ok(tokens)
}

/// An openid request returns an ID token.
fn expect_id_token(tokens: &TokenSet) -> anyhow::Result<()> {
    ensure!(
        tokens.id_token.is_some(),
        "an openid request must return an ID token"
    );
    Ok(())
}

#[then("the token response has an access token, an ID token and a refresh token")]
fn has_all_tokens(world: &mut IdpWorld) -> anyhow::Result<()> {
    let tokens = bearer_response(world)?;
    ensure!(
        !tokens.access_token.expose().is_empty(),
        "the access token is empty"
    );
    expect_id_token(tokens)?;
    ensure!(
        tokens.refresh_token.is_some(),
        "expected a refresh token in the response"
    );
    Ok(())
}

#[then("the token response has an access token and an ID token")]
fn has_access_and_id(world: &mut IdpWorld) -> anyhow::Result<()> {
    expect_id_token(bearer_response(world)?)
}

#[then("the token response has an access token and no refresh token")]
fn has_access_no_refresh(world: &mut IdpWorld) -> anyhow::Result<()> {
    let tokens = bearer_response(world)?;
    ensure!(
        tokens.refresh_token.is_none(),
        "a client credentials response should not include a refresh token (RFC 6749 4.4.3)"
    );
    Ok(())
}

#[then(expr = "the access token lasts at most {int} seconds")]
fn access_token_lifetime(world: &mut IdpWorld, max: i64) -> anyhow::Result<()> {
    world.token_success()?;
    let expires_in = world.expires_in()?;
    ensure!(
        (1..=max).contains(&expires_in),
        "expires_in is {expires_in}, expected between 1 and {max}"
    );
    Ok(())
}

#[then(expr = "the token response grants scope {string}")]
fn grants_scope(world: &mut IdpWorld, scope: String) -> anyhow::Result<()> {
    world.token_success()?;
    let tokens = world.token_set(Which::Latest)?;
    // RFC 6749 5.1: scope may be left out when it is what was asked for.
    let granted = tokens.scope.clone().unwrap_or_else(|| scope.clone());
    let granted = scope_values(&granted);
    let expected = scope_values(&scope);
    ensure!(
        granted == expected,
        "granted scope {granted:?}, expected {expected:?}"
    );
    Ok(())
}

/// Token and revocation endpoints answer errors alike (RFC 6749 5.2,
/// RFC 7009 2.2.1).
#[then(expr = "the token endpoint refuses with {string}")]
#[then(expr = "the IdP refuses the revocation with {string}")]
fn refuses_with(world: &mut IdpWorld, error: String) -> anyhow::Result<()> {
    world.exchange()?.expect_error(400, &error)
}

/// A malformed value (a PKCE verifier of 9 characters, against RFC 7636
/// 4.1's 43 to 128) is an `invalid_request` (RFC 6749 5.2, "malformed") as
/// much as an `invalid_grant` (RFC 7636 4.6).
#[then(expr = "the token endpoint refuses with {string} or {string}")]
fn refuses_with_either(world: &mut IdpWorld, one: String, other: String) -> anyhow::Result<()> {
    let exchange = world.exchange()?;
    exchange
        .expect_error(400, &one)
        .or_else(|_| exchange.expect_error(400, &other))
}

#[then("the token endpoint refuses the client with 401 and a Basic challenge")]
fn refuses_client_basic(world: &mut IdpWorld) -> anyhow::Result<()> {
    let exchange = world.exchange()?;
    exchange.expect_error(401, "invalid_client")?;
    exchange.expect_basic_challenge()
}

#[then("the token response must not be cached")]
#[then("the answer must not be cached")]
fn no_store(world: &mut IdpWorld) -> anyhow::Result<()> {
    let exchange = world.exchange()?;
    let cache_control = exchange.header("cache-control").unwrap_or_default();
    ensure!(
        cache_control
            .split(',')
            .any(|d| d.trim().eq_ignore_ascii_case("no-store")),
        "the answer needs Cache-Control: no-store (RFC 6749 5.1, 5.2), got {cache_control:?}"
    );
    Ok(())
}

#[then("the new refresh token differs from the previous one")]
fn refresh_rotated(world: &mut IdpWorld) -> anyhow::Result<()> {
    let latest = world.token_set(Which::Latest)?.refresh_token.clone();
    let previous = world.token_set(Which::Previous)?.refresh_token.clone();
    let (latest, previous) = match (latest, previous) {
        (Some(l), Some(p)) => (l, p),
        _ => bail!("both token responses need a refresh token to compare"),
    };
    ensure!(
        latest != previous,
        "the refresh token was not rotated (RFC 9700 4.14.2)"
    );
    Ok(())
}

#[then(
    "the ID token is signed with a published key and names the issuer, the client and the nonce"
)]
async fn id_token_valid(world: &mut IdpWorld) -> anyhow::Result<()> {
    let claims = world.verified_id_token(Which::Latest).await?;
    let sent_nonce = world.sent()?.nonce.clone();
    if let Some(nonce) = sent_nonce {
        ensure!(
            claims.get("nonce").and_then(Value::as_str) == Some(nonce.as_str()),
            "the ID token must echo the nonce (OIDC Core 3.1.3.7 step 11)"
        );
    }
    for claim in ["sub", "iat", "exp"] {
        ensure!(
            claims.get(claim).is_some(),
            "the ID token lacks {claim:?} (OIDC Core 2)"
        );
    }
    Ok(())
}

#[then("the ID token fails verification")]
async fn id_token_invalid(world: &mut IdpWorld) -> anyhow::Result<()> {
    let report = world.inspect_id_token(Which::Latest).await?;
    ensure!(
        !report.failed.is_empty(),
        "the ID token passes every check (signature, issuer, audience, expiry, nonce), \
         expected it not to"
    );
    Ok(())
}

#[then(expr = "the ID token fails the {id_check} check and passes the others")]
async fn id_token_fails_check(world: &mut IdpWorld, check: IdTokenCheck) -> anyhow::Result<()> {
    let report = world.inspect_id_token(Which::Latest).await?;
    let failed: Vec<IdTokenCheck> = report.failed.iter().map(|(c, _)| *c).collect();
    ensure!(
        failed == [check],
        "expected the ID token to fail only the {check:?} check, it failed {:?}",
        report.failed
    );
    Ok(())
}

#[then("the ID token passes every check")]
async fn id_token_passes(world: &mut IdpWorld) -> anyhow::Result<()> {
    let report = world.inspect_id_token(Which::Latest).await?;
    ensure!(
        report.failed.is_empty(),
        "the ID token fails {:?}",
        report.failed
    );
    Ok(())
}

impl IdpWorld {
    /// Verify an ID token against the published JWKS, the issuer and the
    /// client (OIDC Core 3.1.3.7); returns its claims.
    pub async fn verified_id_token(&mut self, which: Which) -> anyhow::Result<Value> {
        let token = self.id_token(which)?;
        let (header, _, key) = self
            .published_key_of(token.expose(), "the ID token")
            .await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.client.id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = decode::<Value>(token.expose(), &key, &validation)
            .map_err(|e| anyhow!("the ID token does not verify: {e}"))?;
        Ok(data.claims)
    }
}

/// What a client's checks of an ID token found (OIDC Core 3.1.3.7).
#[derive(Debug)]
pub struct IdTokenReport {
    /// Each failed check with the reason.
    pub failed: Vec<(IdTokenCheck, String)>,
    pub header: jsonwebtoken::Header,
}

/// The JSON of one base64url segment of a compact JWS.
pub fn jws_segment(token: &str, index: usize) -> anyhow::Result<Value> {
    let segment = token
        .split('.')
        .nth(index)
        .ok_or_else(|| anyhow!("the token is not a compact JWS"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .context("a JWS segment is not base64url")?;
    serde_json::from_slice(&bytes).context("a JWS segment is not JSON")
}

impl IdpWorld {
    /// The header of a JWS (`what` names it), the published JWK its `kid`
    /// names, and that key for verifying.
    async fn published_key_of(
        &mut self,
        token: &str,
        what: &str,
    ) -> anyhow::Result<(jsonwebtoken::Header, Jwk, DecodingKey)> {
        let header = decode_header(token).with_context(|| format!("{what} is not a JWS"))?;
        let kid = header
            .kid
            .clone()
            .ok_or_else(|| anyhow!("the header of {what} has no kid"))?;
        let jwks: JwkSet = serde_json::from_value(self.jwks().await?.clone())
            .context("the JWKS does not parse")?;
        let jwk = jwks
            .find(&kid)
            .cloned()
            .ok_or_else(|| anyhow!("kid {kid:?} of {what} is not in the JWKS"))?;
        let key = DecodingKey::from_jwk(&jwk).context("the JWK cannot verify")?;
        Ok((header, jwk, key))
    }

    /// Check a JWS signature against the published JWKS: the `kid` must be
    /// published and the key verify with its own algorithm. Returns the
    /// header; claims are not validated here.
    pub async fn verify_with_jwks(&mut self, token: &str) -> anyhow::Result<jsonwebtoken::Header> {
        let (header, jwk, key) = self.published_key_of(token, "the token").await?;
        if let Some(alg) = &jwk.common.key_algorithm {
            ensure!(
                format!("{alg:?}") == format!("{:?}", header.alg),
                "the token says alg {:?} but its key is for {alg:?}",
                header.alg
            );
        }
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        decode::<Value>(token, &key, &validation)
            .map_err(|e| anyhow!("the signature does not verify: {e}"))?;
        Ok(header)
    }

    /// Run every check a client makes on an ID token and report the ones
    /// that fail; an error only when there is no ID token to check.
    pub async fn inspect_id_token(&mut self, which: Which) -> anyhow::Result<IdTokenReport> {
        let token = self.id_token(which)?;
        let header = decode_header(token.expose()).context("the ID token is not a JWS")?;
        let claims = jws_segment(token.expose(), 1).context("the ID token's payload")?;
        let mut failed = Vec::new();
        if let Err(e) = self.verify_with_jwks(token.expose()).await {
            failed.push((IdTokenCheck::Signature, e.to_string()));
        }
        let iss = claims.get("iss").and_then(Value::as_str);
        if iss != Some(self.issuer.as_str()) {
            failed.push((
                IdTokenCheck::Issuer,
                format!("iss is {iss:?}, the issuer is {:?}", self.issuer),
            ));
        }
        let client = self.client.id.as_str();
        let aud_ok = match claims.get("aud") {
            Some(Value::String(aud)) => aud == client,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(client)),
            _ => false,
        };
        if !aud_ok {
            failed.push((
                IdTokenCheck::Audience,
                format!("aud {:?} does not contain {client:?}", claims.get("aud")),
            ));
        }
        let now = unix_now()?;
        // The usual 60 s of leeway for clock skew.
        match claims.get("exp").and_then(Value::as_i64) {
            Some(exp) if exp + 60 > now => {}
            exp => failed.push((
                IdTokenCheck::Expiry,
                format!("exp {exp:?} is not after now ({now})"),
            )),
        }
        // OIDC Core 3.1.3.7 step 11; after a refresh the nonce may be left
        // out, but if present it is the original one (OIDC Core 12.2).
        let from_code = self.token_set(which)?.grant_type == "authorization_code";
        let sent_nonce = self.sent()?.nonce.clone();
        let nonce = claims.get("nonce").and_then(Value::as_str);
        let nonce_ok = match (&sent_nonce, nonce) {
            (Some(sent), Some(nonce)) => sent == nonce,
            (Some(_), None) => !from_code,
            (None, nonce) => nonce.is_none() || !from_code,
        };
        if !nonce_ok {
            failed.push((
                IdTokenCheck::Nonce,
                format!(
                    "nonce is {}, the authorization link carried {}",
                    if nonce.is_some() {
                        "a different one"
                    } else {
                        "missing"
                    },
                    if sent_nonce.is_some() { "one" } else { "none" }
                ),
            ));
        }
        Ok(IdTokenReport { failed, header })
    }

    /// A forgery of a JWT the IdP issued (RFC 8725 3.1, 3.2).
    pub async fn forge(&mut self, token: &str, forgery: Forgery) -> anyhow::Result<String> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut header = jws_segment(token, 0).context("only a JWT can be forged")?;
        let mut claims = jws_segment(token, 1).context("only a JWT can be forged")?;
        let signature = token.rsplit('.').next().unwrap_or_default().to_string();
        let encode = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let kid = header["kid"].as_str().unwrap_or_default().to_string();
        match forgery {
            Forgery::AlgNone | Forgery::AlgNoneSignatureKept => {
                header["alg"] = "none".into();
                let kept = if forgery == Forgery::AlgNoneSignatureKept {
                    signature.as_str()
                } else {
                    ""
                };
                Ok(format!("{}.{}.{kept}", encode(&header), encode(&claims)))
            }
            Forgery::AlgNoneCapitalNoKid => {
                header["alg"] = "None".into();
                remove_member(&mut header, "kid");
                Ok(format!("{}.{}.", encode(&header), encode(&claims)))
            }
            Forgery::UnknownKid => {
                header["kid"] = "kid-the-idp-never-published".into();
                Ok(format!(
                    "{}.{}.{signature}",
                    encode(&header),
                    encode(&claims)
                ))
            }
            Forgery::TamperedPayload => {
                claims["sub"] = "someone-else-entirely".into();
                claims["exp"] = (claims["exp"].as_i64().unwrap_or(0) + 86_400).into();
                Ok(format!(
                    "{}.{}.{signature}",
                    encode(&header),
                    encode(&claims)
                ))
            }
            Forgery::HmacWithPublicKey
            | Forgery::HmacWithPublicKeyDer
            | Forgery::HmacWithPublicJwk => {
                let jwks = self.jwks().await?.clone();
                let jwk = jwks["keys"]
                    .as_array()
                    .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
                    .ok_or_else(|| anyhow!("kid {kid:?} of the token is not in the JWKS"))?;
                // What an attacker feeds an HMAC verifier that takes "the
                // key" as bytes; the JWK's text where no DER can be built.
                let secret = match forgery {
                    Forgery::HmacWithPublicKey => public_key_pem(jwk).map(String::into_bytes),
                    Forgery::HmacWithPublicKeyDer => public_key_spki_der(jwk),
                    _ => None,
                }
                .unwrap_or_else(|| jwk.to_string().into_bytes());
                header["alg"] = "HS256".into();
                let input = format!("{}.{}", encode(&header), encode(&claims));
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
                let mac = aws_lc_rs::hmac::sign(&key, input.as_bytes());
                Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref())))
            }
            Forgery::UnknownKidOtherKey
            | Forgery::NoKidOtherKey
            | Forgery::PublishedKidOtherKey => {
                header["alg"] = "ES256".into();
                match forgery {
                    Forgery::UnknownKidOtherKey => {
                        header["kid"] = "kid-of-a-key-the-idp-never-had".into();
                    }
                    Forgery::NoKidOtherKey => remove_member(&mut header, "kid"),
                    _ => {
                        // A published P-256 key, so alg and key agree and
                        // only the signature is wrong; else the token's own.
                        let jwks = self.jwks().await?.clone();
                        let published = jwks["keys"]
                            .as_array()
                            .and_then(|keys| {
                                keys.iter()
                                    .find(|k| k["kty"] == "EC" && k["crv"] == "P-256")
                            })
                            .and_then(|k| k["kid"].as_str())
                            .map(str::to_string)
                            .unwrap_or(kid);
                        header["kid"] = published.into();
                    }
                }
                let input = format!("{}.{}", encode(&header), encode(&claims));
                Ok(format!(
                    "{input}.{}",
                    URL_SAFE_NO_PAD.encode(sign_with_another_key(input.as_bytes())?)
                ))
            }
        }
    }
}

/// Remove a member of a JSON object, if it is one.
fn remove_member(value: &mut Value, name: &str) {
    if let Some(object) = value.as_object_mut() {
        object.remove(name);
    }
}

/// An ES256 signature (JWS form, r || s) by a key made for the purpose,
/// which no JWKS publishes.
fn sign_with_another_key(message: &[u8]) -> anyhow::Result<Vec<u8>> {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
        .map_err(|_| anyhow!("cannot generate a P-256 key"))?;
    let signature = key
        .sign(&aws_lc_rs::rand::SystemRandom::new(), message)
        .map_err(|_| anyhow!("cannot sign with the P-256 key"))?;
    Ok(signature.as_ref().to_vec())
}

/// The PEM SubjectPublicKeyInfo of an RSA JWK: what an attacker feeds an
/// HMAC verifier that takes "the key" as a byte string.
fn public_key_pem(jwk: &Value) -> Option<String> {
    use base64::engine::general_purpose::STANDARD;
    let b64 = STANDARD.encode(public_key_spki_der(jwk)?);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    Some(format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    ))
}

/// The DER SubjectPublicKeyInfo of an RSA JWK (RFC 5280 4.1, RFC 8017 A.1).
fn public_key_spki_der(jwk: &Value) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    if jwk["kty"] != "RSA" {
        return None;
    }
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str()?).ok()?;
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str()?).ok()?;
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }
    fn integer(value: &[u8]) -> Vec<u8> {
        let mut content = Vec::new();
        if value.first().is_some_and(|b| b & 0x80 != 0) {
            content.push(0);
        }
        content.extend_from_slice(value);
        tlv(0x02, &content)
    }
    let rsa_public = tlv(0x30, &[integer(&n), integer(&e)].concat());
    let algorithm = tlv(
        0x30,
        &[
            tlv(
                0x06,
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
            ),
            vec![0x05, 0x00],
        ]
        .concat(),
    );
    let bit_string = tlv(0x03, &[&[0u8][..], &rsa_public].concat());
    Some(tlv(0x30, &[algorithm, bit_string].concat()))
}

// --- the tokens themselves ----------------------------------------------------

#[then(expr = "the ID token names the subject {string}")]
async fn id_token_subject(world: &mut IdpWorld, sub: String) -> anyhow::Result<()> {
    let claims = world.verified_id_token(Which::Latest).await?;
    let actual = claims.get("sub").and_then(Value::as_str);
    ensure!(
        actual == Some(sub.as_str()),
        "the ID token names the subject {actual:?}, expected {sub:?}"
    );
    Ok(())
}

#[then(expr = "the ID token carries the claim {string} with the value {string}")]
async fn id_token_claim(world: &mut IdpWorld, claim: String, value: String) -> anyhow::Result<()> {
    let claims = world.verified_id_token(Which::Latest).await?;
    let claims = claims
        .as_object()
        .ok_or_else(|| anyhow!("the ID token's claims are not a JSON object"))?;
    expect_string_claim("the ID token", claims, &claim, &value)
}

#[then(expr = "the ID token does not carry the claim {string}")]
async fn id_token_lacks_claim(world: &mut IdpWorld, claim: String) -> anyhow::Result<()> {
    let claims = world.verified_id_token(Which::Latest).await?;
    ensure!(
        claims.get(&claim).is_none(),
        "the ID token still carries {claim:?}"
    );
    Ok(())
}

#[then(expr = "the ID token is signed with {string} by a key the JWKS publishes")]
async fn id_token_alg(world: &mut IdpWorld, alg: String) -> anyhow::Result<()> {
    world.verified_id_token(Which::Latest).await?;
    let report = world.inspect_id_token(Which::Latest).await?;
    let actual = format!("{:?}", report.header.alg);
    ensure!(
        actual == alg,
        "the ID token is signed with {actual}, expected {alg}"
    );
    Ok(())
}

#[then(expr = "the access token is a JWT signed with {string} by a key the JWKS publishes")]
async fn access_token_alg(world: &mut IdpWorld, alg: String) -> anyhow::Result<()> {
    let token = world.token_set(Which::Latest)?.access_token.clone();
    let header = world.verify_with_jwks(token.expose()).await?;
    let actual = format!("{:?}", header.alg);
    ensure!(
        actual == alg,
        "the access token is signed with {actual}, expected {alg}"
    );
    // RFC 9068 2.1.
    let typ = header.typ.unwrap_or_default();
    ensure!(
        typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt"),
        "a JWT access token has typ at+jwt (RFC 9068 2.1), got {typ:?}"
    );
    Ok(())
}

#[then("the access token is opaque")]
fn access_token_opaque(world: &mut IdpWorld) -> anyhow::Result<()> {
    let token = world.token_set(Which::Latest)?.access_token.clone();
    ensure!(
        !token.expose().is_empty() && decode_header(token.expose()).is_err(),
        "expected an opaque access token, got a JWT"
    );
    Ok(())
}

// --- requests that are not well-formed token requests ---------------------------

#[when(expr = "the bot sends a {word} request to the token endpoint")]
async fn token_wrong_method(world: &mut IdpWorld, method: String) -> anyhow::Result<()> {
    let method = reqwest::Method::from_bytes(method.as_bytes())?;
    world
        .send_to_endpoint("token_endpoint", |http, url| http.request(method, url))
        .await
}

/// The bot's client id and secret (empty for a public client), for
/// requests that are not well-formed.
fn id_and_secret(world: &IdpWorld) -> (String, Secret) {
    let client = &world.client;
    let secret = client.secret.clone().unwrap_or_else(|| Secret::new(""));
    (client.id.clone(), secret)
}

/// A form-encoded token request with this raw body, authenticated with Basic.
async fn raw_form_token_request(world: &mut IdpWorld, body: Vec<u8>) -> anyhow::Result<()> {
    let (id, secret) = id_and_secret(world);
    world
        .send_to_endpoint("token_endpoint", |http, url| {
            http.post(url)
                .header(reqwest::header::AUTHORIZATION, basic(&id, &secret))
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body)
        })
        .await
}

#[when("the bot sends its token request as JSON instead of a form")]
async fn token_as_json(world: &mut IdpWorld) -> anyhow::Result<()> {
    let (id, secret) = id_and_secret(world);
    let body = serde_json::json!({
        "grant_type": "client_credentials",
        "client_id": id,
        "client_secret": secret.expose(),
    });
    world
        .send_to_endpoint("token_endpoint", |http, url| http.post(url).json(&body))
        .await
}

#[when("the bot sends a token request whose body is not valid UTF-8")]
async fn token_bad_utf8(world: &mut IdpWorld) -> anyhow::Result<()> {
    let mut body = b"grant_type=client_credentials&scope=".to_vec();
    body.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
    raw_form_token_request(world, body).await
}

#[when(expr = "the bot sends a token request of {int} KB")]
async fn token_huge(world: &mut IdpWorld, kb: usize) -> anyhow::Result<()> {
    let body = format!(
        "grant_type=authorization_code&code={}",
        "A".repeat(kb * 1024)
    );
    raw_form_token_request(world, body.into_bytes()).await
}

#[then(expr = "the IdP answers {int} with a JSON error")]
fn token_json_error(world: &mut IdpWorld, status: u16) -> anyhow::Result<()> {
    let exchange = world.exchange()?;
    exchange.expect_status(status)?;
    exchange.expect_json_content_type("the error body")?;
    let error = exchange.string("error")?;
    ensure!(!error.is_empty(), "the error code is empty");
    Ok(())
}

/// This status and error code in an RFC 6749 5.2 error body (JSON, a clean
/// description), whichever endpoint answered: a 405 at the token endpoint,
/// an introspection request refused.
#[then(expr = "the IdP answers {int} with the JSON error {string}")]
fn json_error_code(world: &mut IdpWorld, status: u16, error: String) -> anyhow::Result<()> {
    world.exchange()?.expect_error(status, &error)
}

#[then("the token endpoint refuses the request as too large, with a JSON error")]
fn token_too_large(world: &mut IdpWorld) -> anyhow::Result<()> {
    let exchange = world.exchange()?;
    // 413 (RFC 9110 15.5.14), or the token endpoint's own 400
    // invalid_request (RFC 6749 5.2); either way a JSON error, no 5xx.
    match exchange.status {
        413 => {
            exchange.expect_json_content_type("the error body of a 413")?;
            ensure!(
                exchange.member("error").is_some(),
                "expected a JSON error with the 413, got {}",
                exchange.summary()
            );
            Ok(())
        }
        _ => exchange.expect_error(400, "invalid_request"),
    }
}

#[then("the answer lists POST as the allowed method")]
fn allow_post(world: &mut IdpWorld) -> anyhow::Result<()> {
    let allow = world.exchange()?.header("allow").unwrap_or_default();
    ensure!(
        allow.split(',').any(|m| m.trim() == "POST"),
        "a 405 must list the allowed methods in Allow (RFC 9110 15.5.6), got {allow:?}"
    );
    Ok(())
}
