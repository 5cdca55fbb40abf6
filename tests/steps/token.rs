//! The token endpoint, server to server (RFC 6749 4.1.3, 4.4, 5, 6), and the
//! tokens it returns (OIDC Core 3.1.3).

use anyhow::{Context as _, anyhow, bail, ensure};
use cucumber::{then, when};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::Value;
use standin::conformance::profile::TokenEndpointAuth;
use standin::secret::Secret;

use super::IdpWorld;
use super::clients::{ClientUnderTest, basic};
use super::http::Exchange;
use super::params::{AuthStyle, Which};

/// One successful token response.
#[derive(Clone, Debug)]
pub struct TokenSet {
    pub access_token: Secret,
    pub token_type: String,
    pub expires_in: Option<i64>,
    pub refresh_token: Option<Secret>,
    pub id_token: Option<Secret>,
    pub scope: Option<String>,
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
        let exchange = Exchange::send(request.form(&form))
            .await
            .context("POST to the token endpoint")?;
        if exchange.status == 200 {
            self.tokens.push(TokenSet::from_exchange(&exchange)?);
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

    pub async fn exchange_code(&mut self, verifier: Verifier) -> anyhow::Result<()> {
        let form = self.code_form(verifier)?;
        let client = self.client.clone();
        self.token_request(&client, client.auth, form).await
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
        Ok(exchange)
    }

    pub async fn refresh_with(&mut self, which: Which) -> anyhow::Result<()> {
        let refresh = self
            .token_set(which)?
            .refresh_token
            .clone()
            .ok_or_else(|| anyhow!("the {which:?} token response had no refresh token"))?;
        let form = vec![
            ("grant_type".to_string(), "refresh_token".to_string()),
            ("refresh_token".to_string(), refresh.expose().to_string()),
        ];
        let client = self.client.clone();
        self.token_request(&client, client.auth, form).await
    }
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
    let endpoint = world.endpoint("token_endpoint").await?;
    let request = world.http.post(&endpoint).header(
        reqwest::header::AUTHORIZATION,
        basic(&world.client.id, &Secret::new(secret)),
    );
    world.post_token_form(request, form).await
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
    let form = vec![
        ("grant_type".to_string(), "client_credentials".to_string()),
        ("scope".to_string(), scope),
    ];
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
    let mut form = world.code_form(Verifier::FromLink)?;
    form.retain(|(k, _)| k != "redirect_uri");
    form.push(("redirect_uri".into(), uri));
    let client = world.client.clone();
    world.token_request(&client, client.auth, form).await
}

#[when("the bot refreshes the tokens")]
async fn refresh(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.refresh_with(Which::Latest).await
}

#[when(expr = "the bot refreshes the tokens with the {which} refresh token")]
async fn refresh_with(world: &mut IdpWorld, which: Which) -> anyhow::Result<()> {
    world.refresh_with(which).await
}

// --- answers -----------------------------------------------------------------

#[then("the token response has an access token, an ID token and a refresh token")]
fn has_all_tokens(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.token_success()?;
    let tokens = world.token_set(Which::Latest)?;
    ensure!(
        tokens.token_type.eq_ignore_ascii_case("bearer"),
        "token_type must be Bearer, got {:?}",
        tokens.token_type
    );
    ensure!(
        !tokens.access_token.expose().is_empty(),
        "the access token is empty"
    );
    ensure!(
        tokens.id_token.is_some(),
        "an openid request must return an ID token"
    );
    ensure!(
        tokens.refresh_token.is_some(),
        "expected a refresh token in the response"
    );
    Ok(())
}

#[then("the token response has an access token and an ID token")]
fn has_access_and_id(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.token_success()?;
    let tokens = world.token_set(Which::Latest)?;
    ensure!(
        tokens.token_type.eq_ignore_ascii_case("bearer"),
        "token_type must be Bearer, got {:?}",
        tokens.token_type
    );
    ensure!(
        tokens.id_token.is_some(),
        "an openid request must return an ID token"
    );
    Ok(())
}

#[then("the token response has an access token and no refresh token")]
fn has_access_no_refresh(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.token_success()?;
    let tokens = world.token_set(Which::Latest)?;
    ensure!(
        tokens.token_type.eq_ignore_ascii_case("bearer"),
        "token_type must be Bearer, got {:?}",
        tokens.token_type
    );
    ensure!(
        tokens.refresh_token.is_none(),
        "a client credentials response should not include a refresh token (RFC 6749 4.4.3)"
    );
    Ok(())
}

#[then(expr = "the access token lasts at most {int} seconds")]
fn access_token_lifetime(world: &mut IdpWorld, max: i64) -> anyhow::Result<()> {
    world.token_success()?;
    let expires_in = world
        .token_set(Which::Latest)?
        .expires_in
        .ok_or_else(|| anyhow!("the token response has no expires_in (RFC 6749 5.1)"))?;
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
    let mut granted: Vec<&str> = granted.split_whitespace().collect();
    let mut expected: Vec<&str> = scope.split_whitespace().collect();
    granted.sort_unstable();
    expected.sort_unstable();
    ensure!(
        granted == expected,
        "granted scope {granted:?}, expected {expected:?}"
    );
    Ok(())
}

#[then(expr = "the token endpoint refuses with {string}")]
fn refuses_with(world: &mut IdpWorld, error: String) -> anyhow::Result<()> {
    let exchange = world.exchange()?;
    exchange.expect_error(400, &error)
}

#[then("the token endpoint refuses the client with 401 and a Basic challenge")]
fn refuses_client_basic(world: &mut IdpWorld) -> anyhow::Result<()> {
    let exchange = world.exchange()?;
    exchange.expect_error(401, "invalid_client")?;
    let challenge = exchange.header("www-authenticate").ok_or_else(|| {
        anyhow!("a 401 for Basic authentication needs WWW-Authenticate (RFC 6749 5.2)")
    })?;
    ensure!(
        challenge
            .get(..6)
            .is_some_and(|s| s.eq_ignore_ascii_case("basic ")),
        "WWW-Authenticate must name the Basic scheme the client used, got {challenge:?}"
    );
    Ok(())
}

#[then("the token response must not be cached")]
fn no_store(world: &mut IdpWorld) -> anyhow::Result<()> {
    let exchange = world.exchange()?;
    let cache_control = exchange.header("cache-control").unwrap_or_default();
    ensure!(
        cache_control
            .split(',')
            .any(|d| d.trim().eq_ignore_ascii_case("no-store")),
        "token responses need Cache-Control: no-store (RFC 6749 5.1, 5.2), got {cache_control:?}"
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
    let sent_nonce = world.sent()?.nonce.clone();
    let verdict = world.verified_id_token(Which::Latest).await;
    let nonce_ok = |claims: &Value| {
        sent_nonce.is_none() || claims.get("nonce").and_then(Value::as_str) == sent_nonce.as_deref()
    };
    match verdict {
        Ok(claims) if nonce_ok(&claims) => bail!("the ID token verifies, expected it not to"),
        _ => Ok(()),
    }
}

#[then(expr = "the token endpoint answers with status {int}")]
fn token_status(world: &mut IdpWorld, status: u16) -> anyhow::Result<()> {
    let exchange = world.exchange()?;
    ensure!(
        exchange.status == status,
        "expected status {status}, got {}",
        exchange.summary()
    );
    Ok(())
}

impl IdpWorld {
    /// Verify an ID token against the published JWKS, the issuer and the
    /// client (OIDC Core 3.1.3.7); returns its claims.
    pub async fn verified_id_token(&mut self, which: Which) -> anyhow::Result<Value> {
        let token = self
            .token_set(which)?
            .id_token
            .clone()
            .ok_or_else(|| anyhow!("the {which:?} token response had no ID token"))?;
        let header = decode_header(token.expose()).context("the ID token is not a JWS")?;
        let kid = header
            .kid
            .clone()
            .ok_or_else(|| anyhow!("the ID token header has no kid"))?;
        let jwks: JwkSet = serde_json::from_value(self.jwks().await?.clone())
            .context("the JWKS does not parse")?;
        let jwk = jwks
            .find(&kid)
            .ok_or_else(|| anyhow!("kid {kid:?} of the ID token is not in the JWKS"))?;
        let key = DecodingKey::from_jwk(jwk).context("the JWK cannot verify")?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.client.id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = decode::<Value>(token.expose(), &key, &validation)
            .map_err(|e| anyhow!("the ID token does not verify: {e}"))?;
        Ok(data.claims)
    }
}
