//! The platform's token endpoint for brand services (`POST /oauth/token`,
//! client credentials) and the Get Tokens API
//! (`GET /api/account/{account}/consumer/{id}/brand/tokens`).

use std::fmt;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{Answer, encode};

/// How a caller of the Get Tokens API authenticates.
pub enum Bearer<'a> {
    None,
    /// `Authorization: Bearer <token>`.
    Token(&'a str),
    /// `Authorization: Basic` with a client id and secret (wrong here).
    Basic(&'a str, &'a str),
}

/// The platform's APIs for brand services.
#[derive(Clone)]
pub struct GetTokens {
    http: reqwest::Client,
    base: String,
}

impl fmt::Debug for GetTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetTokens")
            .field("base", &self.base)
            .finish()
    }
}

impl GetTokens {
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// A form-encoded request to the platform's token endpoint, to finish
    /// (authentication, body) and [`send`](Self::send).
    pub fn token_request(&self) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/oauth/token", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
    }

    /// A request to the token endpoint with no content type set yet.
    pub fn bare_token_request(&self) -> reqwest::RequestBuilder {
        self.http.post(format!("{}/oauth/token", self.base))
    }

    /// Send a request made by [`token_request`](Self::token_request).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Answer> {
        let response = request
            .send()
            .await
            .context("the platform's token endpoint did not answer")?;
        Answer::of(response).await
    }

    /// The client credentials grant, authenticated by client_secret_basic.
    pub async fn client_credentials(
        &self,
        client_id: &str,
        secret: &str,
    ) -> anyhow::Result<Answer> {
        let request = self
            .token_request()
            .basic_auth(client_id, Some(secret))
            .body("grant_type=client_credentials");
        self.send(request).await
    }

    fn tokens_url(&self, account: &str, consumer_id: &str) -> String {
        format!(
            "{}/api/account/{account}/consumer/{}/brand/tokens",
            self.base,
            encode(consumer_id)
        )
    }

    /// Read the tokens of `consumer_id` in `account`.
    pub async fn read(
        &self,
        auth: Bearer<'_>,
        account: &str,
        consumer_id: &str,
    ) -> anyhow::Result<Answer> {
        let mut request = self.http.get(self.tokens_url(account, consumer_id));
        match auth {
            Bearer::None => {}
            Bearer::Token(token) => {
                request = request.header("authorization", format!("Bearer {token}"));
            }
            Bearer::Basic(id, secret) => {
                let credentials = STANDARD.encode(format!("{id}:{secret}"));
                request = request.header("authorization", format!("Basic {credentials}"));
            }
        }
        let response = request
            .send()
            .await
            .context("the Get Tokens API did not answer")?;
        Answer::of(response).await
    }

    /// `count` reads with `token` at the same moment.
    pub async fn read_concurrently(
        &self,
        token: &str,
        account: &str,
        consumer_id: &str,
        count: usize,
    ) -> anyhow::Result<Vec<Answer>> {
        let reads = (0..count).map(|_| self.read(Bearer::Token(token), account, consumer_id));
        futures::future::join_all(reads).await.into_iter().collect()
    }
}
