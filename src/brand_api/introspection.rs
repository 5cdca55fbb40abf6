//! Opaque access tokens, checked at the IdP's introspection endpoint
//! (RFC 7662), for a brand whose IdP issues opaque tokens to the platform.
//! JWT access tokens never come here: they are checked locally
//! ([`super::auth`]).
//!
//! The endpoint is found in the IdP's discovery document
//! (`introspection_endpoint`, RFC 8414 2 as OIDC providers publish it). The
//! brand API authenticates as its own client there: HTTP Basic with the RFC
//! 6749 2.3.1 form-encoded id and secret, or the body when
//! `introspection_endpoint_auth_methods_supported` lists only
//! `client_secret_post`.
//!
//! What the answer must say (RFC 7662 2.2 makes every member but `active`
//! optional; a member that is absent is not checked, one that is present
//! must match):
//!
//! | member | rule |
//! |---|---|
//! | `active` | `true`, else 401 `invalid_token` |
//! | `token_type` | absent, or `Bearer` in any case |
//! | `iss` | the configured issuer, exactly |
//! | `aud` | contains this API's audience |
//! | `exp`, `nbf` | on the shared clock, as for JWTs: the IdP's clock says active, ours may have moved on |
//! | `sub` | required: the data served is the subject's |
//!
//! An endpoint that cannot be reached, answers other than 200, or refuses
//! this API's credentials is a 503 (`temporarily_unavailable`): not a
//! verdict on the token. Tokens are not cached: each call asks again, so a
//! revoked token stops working at once.

use std::time::Duration;

use serde::Deserialize;
use tokio::sync::OnceCell;

use super::auth::{Audience, AuthError, Consumer};
use crate::clock::Instant;
use crate::secret::Secret;
use crate::wire::ClientId;
use crate::wire::basic_credentials;

/// The brand API's own client at the IdP, for introspection.
#[derive(Clone, Debug)]
pub struct IntrospectionClient {
    pub client_id: ClientId,
    pub client_secret: Secret,
}

/// Where and how to introspect, once discovered.
#[derive(Debug, Clone)]
struct Endpoint {
    url: String,
    /// Authenticate in the body rather than with Basic.
    post: bool,
}

/// The discovery members introspection needs.
#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    #[serde(default)]
    introspection_endpoint: Option<String>,
    #[serde(default)]
    introspection_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// RFC 7662 2.2, the members this API reads.
#[derive(Deserialize)]
struct Answer {
    active: bool,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    exp: Option<f64>,
    #[serde(default)]
    nbf: Option<f64>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    client_id: Option<ClientId>,
    #[serde(default)]
    scope: Option<String>,
}

/// Introspection for one issuer.
pub struct Introspector {
    issuer: String,
    client: IntrospectionClient,
    http: reqwest::Client,
    endpoint: OnceCell<Endpoint>,
}

impl std::fmt::Debug for Introspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspector")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client.client_id)
            .finish_non_exhaustive()
    }
}

fn unavailable(what: impl std::fmt::Display) -> AuthError {
    tracing::warn!(error = %what, "cannot introspect a token");
    AuthError::Unavailable(format!(
        "the IdP's introspection endpoint cannot check the token ({what}); retry later"
    ))
}

impl Introspector {
    /// Introspection at `issuer` (exactly as the IdP names itself) as
    /// `client`.
    pub fn new(issuer: &str, client: IntrospectionClient) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a reqwest client with rustls builds");
        Self {
            issuer: issuer.to_string(),
            client,
            http,
            endpoint: OnceCell::new(),
        }
    }

    async fn endpoint(&self) -> Result<&Endpoint, AuthError> {
        self.endpoint
            .get_or_try_init(|| async {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.issuer.trim_end_matches('/')
                );
                let response = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| unavailable(format!("GET {url}: {e}")))?;
                if !response.status().is_success() {
                    return Err(unavailable(format!(
                        "GET {url}: status {}",
                        response.status()
                    )));
                }
                let meta: Metadata = response
                    .json()
                    .await
                    .map_err(|e| unavailable(format!("GET {url}: not the expected JSON: {e}")))?;
                if meta.issuer != self.issuer {
                    return Err(unavailable(format!(
                        "discovery names issuer {:?}, expected {:?}",
                        meta.issuer, self.issuer
                    )));
                }
                let url = meta.introspection_endpoint.ok_or_else(|| {
                    unavailable("the IdP's discovery names no introspection_endpoint")
                })?;
                let post = meta
                    .introspection_endpoint_auth_methods_supported
                    .is_some_and(|m| {
                        m.iter().any(|m| m == "client_secret_post")
                            && !m.iter().any(|m| m == "client_secret_basic")
                    });
                Ok(Endpoint { url, post })
            })
            .await
    }

    /// The consumer an opaque `token` stands for, now (`now` on the shared
    /// clock), for `audience`.
    pub async fn check(
        &self,
        token: &str,
        now: Instant,
        audience: &str,
    ) -> Result<Consumer, AuthError> {
        let endpoint = self.endpoint().await?;
        let mut form = vec![("token", token), ("token_type_hint", "access_token")];
        let mut request = self.http.post(&endpoint.url);
        if endpoint.post {
            form.push(("client_id", self.client.client_id.as_str()));
            form.push(("client_secret", self.client.client_secret.expose()));
        } else {
            request = request.header(
                reqwest::header::AUTHORIZATION,
                basic_credentials(
                    self.client.client_id.as_str(),
                    self.client.client_secret.expose(),
                ),
            );
        }
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| unavailable(format!("POST {}: {}", endpoint.url, e.without_url())))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(unavailable(format!(
                "it refused this API's client {:?} with status {status}",
                self.client.client_id
            )));
        }
        if !status.is_success() {
            return Err(unavailable(format!("status {status}")));
        }
        let answer: Answer = response
            .json()
            .await
            .map_err(|_| unavailable("its answer is not RFC 7662 JSON"))?;
        judge(answer, now, &self.issuer, audience)
    }
}

/// The rules of the module's table.
fn judge(
    answer: Answer,
    now: Instant,
    issuer: &str,
    audience: &str,
) -> Result<Consumer, AuthError> {
    let invalid = |d: &str| AuthError::InvalidToken(d.to_string());
    if !answer.active {
        return Err(invalid(
            "the IdP's introspection says the token is not active (expired, revoked or unknown)",
        ));
    }
    if answer
        .token_type
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
    {
        return Err(invalid("the token is not a Bearer token"));
    }
    if answer.iss.as_deref().is_some_and(|iss| iss != issuer) {
        return Err(invalid("the token was issued by another issuer"));
    }
    if answer.aud.as_ref().is_some_and(|a| !a.contains(audience)) {
        return Err(AuthError::InvalidToken(format!(
            "the token is not meant for this API (aud does not contain {audience})"
        )));
    }
    let now = now.unix_secs() as f64;
    if answer.exp.is_some_and(|exp| now >= exp) {
        return Err(invalid("the access token has expired"));
    }
    if answer.nbf.is_some_and(|nbf| now < nbf) {
        return Err(invalid("the access token is not valid yet (nbf)"));
    }
    let sub = answer
        .sub
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("the IdP's introspection names no sub for the token"))?;
    Ok(Consumer {
        sub,
        client_id: answer.client_id.unwrap_or_else(|| ClientId::new("")),
        scope: answer.scope.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> crate::clock::Instant {
        crate::clock::Instant::from_unix_secs(secs)
    }

    fn answer(json: serde_json::Value) -> Answer {
        serde_json::from_value(json).unwrap()
    }

    const ISS: &str = "https://idp.example/";

    #[test]
    fn an_active_token_with_only_a_sub_is_its_subject() {
        let consumer = judge(
            answer(serde_json::json!({"active": true, "sub": "alice"})),
            at(100),
            ISS,
            "brand-api",
        )
        .unwrap();
        assert_eq!(consumer.sub, "alice");
    }

    #[test]
    fn each_rule_refuses_what_breaks_it() {
        for (json, why) in [
            (
                serde_json::json!({"active": false, "sub": "a"}),
                "not active",
            ),
            (serde_json::json!({"active": true}), "no sub"),
            (
                serde_json::json!({"active": true, "sub": "a", "token_type": "DPoP"}),
                "not a Bearer",
            ),
            (
                serde_json::json!({"active": true, "sub": "a", "iss": "https://idp.example"}),
                "another issuer",
            ),
            (
                serde_json::json!({"active": true, "sub": "a", "aud": ["other"]}),
                "not meant",
            ),
            (
                serde_json::json!({"active": true, "sub": "a", "exp": 100}),
                "expired",
            ),
            (
                serde_json::json!({"active": true, "sub": "a", "nbf": 101}),
                "not valid yet",
            ),
        ] {
            let error = judge(answer(json.clone()), at(100), ISS, "brand-api").unwrap_err();
            assert!(error.description().contains(why), "{json}: {error}");
            assert_eq!(error.code(), "invalid_token");
        }
    }

    #[test]
    fn present_members_that_match_pass() {
        let consumer = judge(
            answer(serde_json::json!({
                "active": true, "sub": "a", "token_type": "bearer", "iss": ISS,
                "aud": "brand-api", "exp": 101, "nbf": 100, "client_id": "bot", "scope": "orders:read"
            })),
            at(100),
            ISS,
            "brand-api",
        )
        .unwrap();
        assert!(consumer.has_scope("orders:read"));
        assert_eq!(consumer.client_id, "bot");
    }
}
