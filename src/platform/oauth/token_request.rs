//! One request to a token endpoint (RFC 6749 4.1.3, 4.4.2, 6; RFC 7523
//! 2.1; IBM Cloud IAM's API-key grant), for every grant the platform uses,
//! with the client authenticated as the provider wants it, and the answer
//! read by [`super::token_response`].
//!
//! The two grants of Third-party NLU credentials carry their own
//! credential (a signed assertion, an API key) and send no client
//! authentication (RFC 7523 3.1 makes it optional).
//!
//! Client authentication (RFC 6749 2.3.1): `client_secret_basic` sends
//! `Authorization: Basic` with the id and the secret each form-encoded
//! first; `client_secret_post` sends them as `client_id` and
//! `client_secret` in the body. Never both (RFC 6749 2.3).
//!
//! HTTP 429 (RFC 6585 4) is waited out once when its `Retry-After` (in
//! seconds) fits within the request's time limit; otherwise the answer is
//! "rate limited by the IdP". Redirects are never followed (the client is
//! built with redirects off: following one would send the code elsewhere).

use std::time::{Duration, Instant};

use reqwest::header;

use super::outbound::{self, OutboundLog, OutboundRequest};
use super::token_response::{self, TokenError, TokenResponse};
use crate::clock::Clock;
use crate::secret::{PkceVerifier, Secret};

pub use crate::platform::org::ClientAuthMethod;
use crate::wire::ClientId;

/// The client: its id, its secret, how it authenticates.
pub struct Client<'a> {
    pub id: &'a ClientId,
    pub secret: &'a Secret,
    pub method: ClientAuthMethod,
}

/// What is asked for.
pub enum Grant<'a> {
    /// RFC 6749 4.1.3 (and RFC 7636 4.5).
    AuthorizationCode {
        code: &'a str,
        redirect_uri: &'a str,
        verifier: Option<&'a PkceVerifier>,
    },
    /// RFC 6749 6.
    RefreshToken {
        refresh_token: &'a Secret,
        scope: Option<&'a str>,
    },
    /// RFC 6749 4.4.2.
    ClientCredentials { scope: Option<&'a str> },
    /// RFC 7523 2.1: a signed JWT assertion as the grant.
    JwtBearer { assertion: &'a Secret },
    /// IBM Cloud IAM: an API key as the grant.
    ApiKey { apikey: &'a Secret },
}

/// RFC 7523 2.1.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// IBM Cloud IAM's API-key grant.
pub const IAM_APIKEY_GRANT: &str = "urn:ibm:params:oauth:grant-type:apikey";

impl Grant<'_> {
    /// The `grant_type` value.
    pub fn name(&self) -> &'static str {
        match self {
            Grant::AuthorizationCode { .. } => "authorization_code",
            Grant::RefreshToken { .. } => "refresh_token",
            Grant::ClientCredentials { .. } => "client_credentials",
            Grant::JwtBearer { .. } => JWT_BEARER_GRANT,
            Grant::ApiKey { .. } => IAM_APIKEY_GRANT,
        }
    }
}

/// `Authorization: Basic` with the client id and secret, each form-encoded
/// first (RFC 6749 2.3.1).
pub fn basic(client_id: &str, secret: &Secret) -> Secret {
    Secret::new(crate::wire::basic_credentials(client_id, secret.expose()))
}

/// The form body and the `Authorization` header of a request.
fn build(client: Option<&Client<'_>>, grant: &Grant<'_>) -> (Secret, Option<Secret>) {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", grant.name());
    match grant {
        Grant::AuthorizationCode {
            code,
            redirect_uri,
            verifier,
        } => {
            form.append_pair("code", code);
            form.append_pair("redirect_uri", redirect_uri);
            if let Some(v) = verifier {
                form.append_pair("code_verifier", v.expose());
            }
        }
        Grant::RefreshToken {
            refresh_token,
            scope,
        } => {
            form.append_pair("refresh_token", refresh_token.expose());
            if let Some(s) = scope {
                form.append_pair("scope", s);
            }
        }
        Grant::ClientCredentials { scope } => {
            if let Some(s) = scope {
                form.append_pair("scope", s);
            }
        }
        Grant::JwtBearer { assertion } => {
            form.append_pair("assertion", assertion.expose());
        }
        Grant::ApiKey { apikey } => {
            form.append_pair("apikey", apikey.expose());
        }
    }
    let authorization = match client.map(|c| (c, c.method)) {
        None => None,
        Some((c, ClientAuthMethod::ClientSecretBasic)) => Some(basic(c.id.as_str(), c.secret)),
        Some((c, ClientAuthMethod::ClientSecretPost)) => {
            form.append_pair("client_id", c.id.as_str());
            form.append_pair("client_secret", c.secret.expose());
            None
        }
    };
    (Secret::new(form.finish()), authorization)
}

/// `Retry-After` in seconds (RFC 9110 10.2.3; an HTTP date is not waited
/// for).
fn retry_after(headers: &header::HeaderMap) -> Option<u64> {
    headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Where a request is logged ([`super::outbound`]), with the clock that
/// dates it.
pub struct Recorder<'a> {
    pub log: &'a OutboundLog,
    pub clock: &'a Clock,
}

/// One request as sent, for the log.
pub struct Sent<'a> {
    /// `token` or `revocation`.
    pub kind: &'static str,
    pub url: &'a str,
    pub grant_type: Option<&'static str>,
    /// `client_secret_basic`, `client_secret_post` or `none`.
    pub client_auth: &'static str,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// The codes of the departures the answer was tolerated with.
    pub departures: Vec<&'static str>,
    /// Which tokens the answer carried.
    pub returned: Vec<&'static str>,
    pub expires_in: Option<u64>,
    pub started: Instant,
}

impl Recorder<'_> {
    /// Log `sent`, which ended with `result`; returns the entry as logged.
    pub fn record<T>(&self, sent: Sent<'_>, result: &Result<T, TokenError>) -> OutboundRequest {
        let entry = OutboundRequest {
            at: self.clock.now(),
            kind: sent.kind,
            endpoint: outbound::endpoint(sent.url),
            grant_type: sent.grant_type,
            client_auth: sent.client_auth,
            status: sent.status,
            outcome: match result {
                Ok(_) => "ok".into(),
                Err(e) => outcome(e),
            },
            departures: sent.departures,
            returned: sent.returned,
            expires_in: sent.expires_in,
            duration_ms: u64::try_from(sent.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        self.log.record(entry.clone());
        entry
    }
}

/// A failure as the log names it.
fn outcome(e: &TokenError) -> String {
    match e {
        TokenError::Refused { code, .. } => code.clone(),
        TokenError::RateLimited { .. } => "rate_limited".into(),
        TokenError::Status { .. } => "http_error".into(),
        TokenError::ErrorWithSuccess { .. } => "error_with_success".into(),
        TokenError::NotJson { .. } => "not_json".into(),
        TokenError::NoAccessToken { .. } => "no_access_token".into(),
        TokenError::NotBearer(_) => "not_bearer".into(),
        TokenError::Unreachable => "unreachable".into(),
        TokenError::Config(_) => "config".into(),
    }
}

/// Ask `url` for a token; `limit` bounds the whole exchange, a wait for
/// `Retry-After` included. `client` authenticates (none for the grants
/// that carry their own credential). Logged to `recorder` when there is
/// one.
pub async fn request(
    http: &reqwest::Client,
    url: &str,
    client: Option<&Client<'_>>,
    grant: &Grant<'_>,
    limit: Duration,
    recorder: Option<&Recorder<'_>>,
) -> Result<TokenResponse, TokenError> {
    let started = Instant::now();
    let (status, result) = send(http, url, client, grant, limit, started).await;
    if let Some(r) = recorder {
        r.record(sent(url, client, grant, status, &result, started), &result);
    }
    result
}

/// [`request`], also handing back the request as logged, for the
/// conversation whose sign-in it completes (its timeline shows it).
pub async fn request_logged(
    http: &reqwest::Client,
    url: &str,
    client: Option<&Client<'_>>,
    grant: &Grant<'_>,
    limit: Duration,
    recorder: &Recorder<'_>,
) -> (Result<TokenResponse, TokenError>, OutboundRequest) {
    let started = Instant::now();
    let (status, result) = send(http, url, client, grant, limit, started).await;
    let entry = recorder.record(sent(url, client, grant, status, &result, started), &result);
    (result, entry)
}

/// A token request as the log describes it: names and numbers only.
fn sent<'a>(
    url: &'a str,
    client: Option<&Client<'_>>,
    grant: &Grant<'_>,
    status: Option<u16>,
    result: &Result<TokenResponse, TokenError>,
    started: Instant,
) -> Sent<'a> {
    Sent {
        kind: "token",
        url,
        grant_type: Some(grant.name()),
        client_auth: client.map_or("none", |c| c.method.name()),
        status,
        departures: result
            .as_ref()
            .map(|t| t.departures.iter().map(|d| d.code).collect())
            .unwrap_or_default(),
        returned: result.as_ref().map(returned).unwrap_or_default(),
        expires_in: result.as_ref().ok().and_then(|t| t.expires_in),
        started,
    }
}

/// The names of the tokens `response` carried.
fn returned(response: &TokenResponse) -> Vec<&'static str> {
    let mut names = vec!["access_token"];
    if response.refresh_token.is_some() {
        names.push("refresh_token");
    }
    if response.id_token.is_some() {
        names.push("id_token");
    }
    names
}

async fn send(
    http: &reqwest::Client,
    url: &str,
    client: Option<&Client<'_>>,
    grant: &Grant<'_>,
    limit: Duration,
    started: Instant,
) -> (Option<u16>, Result<TokenResponse, TokenError>) {
    let (body, authorization) = build(client, grant);
    let mut waited = false;
    loop {
        let mut request = http
            .post(url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(body.expose().to_string());
        if let Some(a) = &authorization {
            let Ok(mut value) = header::HeaderValue::from_str(a.expose()) else {
                return (
                    None,
                    Err(TokenError::Config(
                        "the client id or secret cannot be sent in a header".into(),
                    )),
                );
            };
            value.set_sensitive(true);
            request = request.header(header::AUTHORIZATION, value);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(_) => return (None, Err(TokenError::Unreachable)),
        };
        let status = response.status().as_u16();
        if status == 429 {
            let after = retry_after(response.headers());
            let fits = after.is_some_and(|s| {
                started.elapsed() + Duration::from_secs(s) + Duration::from_millis(100) < limit
            });
            if !waited && fits {
                waited = true;
                tokio::time::sleep(Duration::from_secs(after.unwrap_or(0))).await;
                continue;
            }
            return (
                Some(status),
                Err(TokenError::RateLimited { retry_after: after }),
            );
        }
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let Ok(bytes) = response.bytes().await else {
            return (Some(status), Err(TokenError::Unreachable));
        };
        return (
            Some(status),
            token_response::read(status, content_type.as_deref(), &bytes),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{body_string_contains, header as has_header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn http() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    #[test]
    fn basic_form_encodes_id_and_secret_first() {
        use base64::Engine as _;
        // RFC 6749 2.3.1: "application/x-www-form-urlencoded" before Base64.
        let b = basic("a b:c", &Secret::new("s&t%"));
        let pair = base64::engine::general_purpose::STANDARD
            .decode(b.expose().strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(String::from_utf8(pair).unwrap(), "a+b%3Ac:s%26t%25");
    }

    #[test]
    fn the_method_follows_what_the_provider_advertises() {
        let v = |m: &[&str]| m.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            ClientAuthMethod::choose(None),
            Ok(ClientAuthMethod::ClientSecretBasic)
        );
        assert_eq!(
            ClientAuthMethod::choose(Some(&v(&["client_secret_post"]))),
            Ok(ClientAuthMethod::ClientSecretPost)
        );
        assert_eq!(
            ClientAuthMethod::choose(Some(&v(&["client_secret_post", "client_secret_basic"]))),
            Ok(ClientAuthMethod::ClientSecretBasic)
        );
        let e = ClientAuthMethod::choose(Some(&v(&["private_key_jwt"]))).unwrap_err();
        assert!(e.contains("private_key_jwt"), "{e}");
    }

    #[tokio::test]
    async fn client_secret_post_sends_the_secret_in_the_body_only() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(body_string_contains("client_secret=s3cret"))
            .and(body_string_contains("grant_type=client_credentials"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"access_token": "a", "token_type": "Bearer", "expires_in": 60}),
            ))
            .expect(1)
            .mount(&server)
            .await;
        let secret = Secret::new("s3cret");
        let client = Client {
            id: &ClientId::new("c"),
            secret: &secret,
            method: ClientAuthMethod::ClientSecretPost,
        };
        let r = request(
            &http(),
            &format!("{}/token", server.uri()),
            Some(&client),
            &Grant::ClientCredentials { scope: None },
            Duration::from_secs(5),
            None,
        )
        .await
        .unwrap();
        assert_eq!(r.expires_in, Some(60));
        let received = &server.received_requests().await.unwrap()[0];
        assert!(received.headers.get("authorization").is_none());
    }

    #[tokio::test]
    async fn the_grants_that_carry_their_credential_send_no_client_authentication() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(body_string_contains(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"access_token": "t", "token_type": "Bearer", "expires_in": "3600"}),
            ))
            .expect(1)
            .mount(&server)
            .await;
        let log = OutboundLog::default();
        let clock = Clock::new();
        let assertion = Secret::new("a.b.c");
        let r = request(
            &http(),
            &format!("{}/token", server.uri()),
            None,
            &Grant::JwtBearer {
                assertion: &assertion,
            },
            Duration::from_secs(5),
            Some(&Recorder {
                log: &log,
                clock: &clock,
            }),
        )
        .await
        .unwrap();
        // A numeric string is a tolerated departure.
        assert_eq!(r.expires_in, Some(3600));
        let received = &server.received_requests().await.unwrap()[0];
        assert!(received.headers.get("authorization").is_none());
        assert!(!String::from_utf8_lossy(&received.body).contains("client_id"));
        let entry = &log.entries()[0];
        assert_eq!(entry.client_auth, "none");
        assert_eq!(entry.grant_type, Some(JWT_BEARER_GRANT));
        assert_eq!(entry.expires_in, Some(3600));
    }

    #[tokio::test]
    async fn a_429_is_waited_out_once_when_retry_after_fits_else_said() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(has_header(
                "authorization",
                basic("c", &Secret::new("s")).expose(),
            ))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    serde_json::json!({"access_token": "a", "token_type": "Bearer"}),
                ),
            )
            .mount(&server)
            .await;
        let secret = Secret::new("s");
        let client = Client {
            id: &ClientId::new("c"),
            secret: &secret,
            method: ClientAuthMethod::ClientSecretBasic,
        };
        let url = format!("{}/token", server.uri());
        let grant = Grant::ClientCredentials { scope: None };
        assert!(
            request(
                &http(),
                &url,
                Some(&client),
                &grant,
                Duration::from_secs(5),
                None
            )
            .await
            .is_ok()
        );

        // A wait longer than the limit is not made.
        let slow = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "120"))
            .expect(1)
            .mount(&slow)
            .await;
        let e = request(
            &http(),
            &format!("{}/token", slow.uri()),
            Some(&client),
            &grant,
            Duration::from_secs(5),
            None,
        )
        .await
        .unwrap_err();
        assert_eq!(
            e,
            TokenError::RateLimited {
                retry_after: Some(120)
            }
        );
        assert!(e.to_string().contains("rate limited by the IdP"));
    }
}
