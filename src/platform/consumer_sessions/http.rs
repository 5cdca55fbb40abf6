//! Consumer sessions over HTTP.
//!
//! | call | answer |
//! |---|---|
//! | `POST /api/account/{account}/consumer/sessions {"code","redirect_uri","code_verifier"?,"nonce"?}` | 201 `{"consumer_id","expires_at","session_token"}` (`Cache-Control: no-store`) |
//! | `DELETE /api/account/{account}/consumer/{consumerId}/session` | 204; 404 when there is no live session |
//!
//! The start is called by the brand's page with the authorization code it
//! obtained at the brand's IdP (its own page as `redirect_uri`, the PKCE
//! verifier if it used PKCE, the nonce if it sent one): the code is the
//! proof of the consumer's sign-in, and it is single use and bound to the
//! organisation's client at the IdP. The answer carries no token of the
//! IdP's: it carries the session's handle, `session_token` ([`super::handle`]),
//! which the brand's messaging client presents as `consumer_session` when
//! it opens the consumer's conversation (`POST /api/conversations`). Only
//! such a conversation gets the consumer's tokens; a `consumer_id` alone
//! authenticates nobody. The platform keeps only the handle's SHA-256.
//!
//! Ending a session is an organisation's administrative act: when the
//! organisation has an `admin_token` it wants `Authorization: Bearer
//! <admin_token>`, like the credential API. The tokens are purged and
//! revoked at the IdP ([`super::revocation`], in the background: the
//! answer never waits for the IdP, nor fails because of it). The
//! conversations the session's handle opened get no tokens again, even
//! after the consumer signs in again (the new session's handle opens new
//! conversations), and the handle opens no conversation any more.
//!
//! Errors are `{"error","error_description"}`: 400 `invalid_request` (the
//! body or the consumer id), 400 `invalid_grant` (the IdP refused the
//! code), 404 (no such account or session), 409
//! `pre_authentication_not_configured` (the organisation has no Consumer
//! Pre-Authentication credential), 502 (the IdP failed or its ID token is
//! not acceptable).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tracing::instrument;
use url::Url;

use super::ConsumerId;
use crate::platform::PlatformState;
use crate::platform::credentials::Kind;
use crate::platform::oauth::ExchangeError;
use crate::platform::oauth::token_response::TokenError;
use crate::platform::web::error;
use crate::secret::{Nonce, PkceVerifier, Secret};

/// Longest authorization code, redirect URI or nonce accepted.
const MAX_PARAM: usize = 2048;

/// The body of a start.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    #[serde(default)]
    code: Option<Secret>,
    #[serde(default)]
    redirect_uri: Option<String>,
    #[serde(default)]
    code_verifier: Option<PkceVerifier>,
    #[serde(default)]
    nonce: Option<Nonce>,
}

/// A checked start request.
struct Start {
    code: Secret,
    redirect_uri: String,
    code_verifier: Option<PkceVerifier>,
    nonce: Option<Nonce>,
}

fn invalid(description: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// Parse and check the body; every fault is named.
#[allow(clippy::result_large_err)]
fn parse(body: &[u8]) -> Result<Start, Response> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let b: StartBody = serde_path_to_error::deserialize(de).map_err(|e| {
        // The path only: the inner message could quote a value.
        let path = e.path().to_string();
        let what = if e.inner().to_string().starts_with("unknown field") {
            e.inner().to_string()
        } else if path == "." {
            "the body is not a JSON object".to_string()
        } else {
            format!("{path} must be a string")
        };
        invalid(format!(
            "{what}; send {{\"code\",\"redirect_uri\",\"code_verifier\"?,\"nonce\"?}}"
        ))
    })?;
    let mut faults = Vec::new();
    let visible =
        |s: &str| !s.is_empty() && s.len() <= MAX_PARAM && s.bytes().all(|b| b.is_ascii_graphic());
    match &b.code {
        None => faults.push("code is required (the authorization code from the IdP)".to_string()),
        Some(c) if !visible(c.expose()) => {
            faults.push(format!("code is 1 to {MAX_PARAM} visible ASCII characters"))
        }
        Some(_) => {}
    }
    match b.redirect_uri.as_deref() {
        None | Some("") => faults.push(
            "redirect_uri is required (the brand page the IdP sent the code to)".to_string(),
        ),
        Some(r) => match Url::parse(r) {
            Ok(u) if matches!(u.scheme(), "http" | "https")
                && u.fragment().is_none()
                && r.len() <= MAX_PARAM => {}
            _ => faults.push(
                "redirect_uri is an absolute http(s) URL without a fragment, exactly as sent to the IdP".to_string(),
            ),
        },
    }
    if let Some(v) = &b.code_verifier {
        let v = v.expose();
        let ok = (43..=128).contains(&v.len())
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
        if !ok {
            faults.push(
                "code_verifier is 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 4.1)"
                    .to_string(),
            );
        }
    }
    if let Some(n) = &b.nonce
        && !visible(n.expose())
    {
        faults.push(format!(
            "nonce is 1 to {MAX_PARAM} visible ASCII characters"
        ));
    }
    match (faults.is_empty(), b.code, b.redirect_uri) {
        (true, Some(code), Some(redirect_uri)) => Ok(Start {
            code,
            redirect_uri,
            code_verifier: b.code_verifier,
            nonce: b.nonce,
        }),
        _ => Err(invalid(faults.join("; "))),
    }
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// What a failed exchange means for the brand's page.
fn exchange_failed(e: &ExchangeError) -> Response {
    match e {
        ExchangeError::Token(TokenError::Refused { code, .. })
            if matches!(code.as_str(), "invalid_grant" | "invalid_request") =>
        {
            error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                format!(
                    "the brand's IdP refused the authorization code ({code}): it may be used, expired, for another redirect_uri, or need the PKCE verifier"
                ),
            )
        }
        ExchangeError::Config(why) => error(
            StatusCode::CONFLICT,
            "pre_authentication_not_configured",
            format!(
                "the organisation's provider cannot be used for Consumer Pre-Authentication: {why}"
            ),
        ),
        ExchangeError::IdToken(why) => error(
            StatusCode::BAD_GATEWAY,
            "invalid_id_token",
            format!("the brand's IdP gave no acceptable ID token: {why}"),
        ),
        other => error(
            StatusCode::BAD_GATEWAY,
            "temporarily_unavailable",
            format!("the code could not be exchanged: {other}"),
        ),
    }
}

/// `POST /api/account/{account}/consumer/sessions`.
#[instrument(skip_all, fields(account = %account))]
pub async fn start(
    State(state): State<PlatformState>,
    Path(account): Path<String>,
    body: Bytes,
) -> Response {
    let Some(org) = state.org(&account) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no account {account:?}"),
        );
    };
    let request = match parse(&body) {
        Ok(r) => r,
        Err(response) => return response,
    };
    let configured = state
        .vault
        .find(&org.id, |k| matches!(k, Kind::ConsumerPreAuthentication(_)))
        .is_some();
    if !configured {
        return error(
            StatusCode::CONFLICT,
            "pre_authentication_not_configured",
            format!(
                "account {account:?} has no Consumer Pre-Authentication credential; its admin must add one before consumers can be signed in this way"
            ),
        );
    }
    let signed_in = state
        .oauth
        .sign_in_consumer(
            &org.provider,
            &request.code,
            &request.redirect_uri,
            request.code_verifier.as_ref(),
            request.nonce.as_ref(),
            &state.clock,
        )
        .await;
    drop(request);
    let signed_in = match signed_in {
        Ok(s) => s,
        Err(e) => {
            tracing::info!(error = %e, "consumer pre-authentication refused");
            return exchange_failed(&e);
        }
    };
    let consumer = match ConsumerId::parse(&signed_in.subject) {
        Ok(c) => c,
        Err(why) => {
            return error(
                StatusCode::BAD_GATEWAY,
                "invalid_id_token",
                format!("the ID token's sub cannot be used as a consumer id: {why}"),
            );
        }
    };
    let now = state.clock.now();
    let ends_at = now + crate::clock::secs(state.options.consumer_session_ttl_secs);
    let handle = state
        .consumer_sessions
        .start(&org.id, &consumer, signed_in, now, ends_at);
    tracing::info!(consumer = %consumer, ends_at = ends_at.unix_secs(), "consumer session started");
    no_store(
        (
            StatusCode::CREATED,
            Json(json!({
                "consumer_id": consumer,
                "expires_at": ends_at,
                "session_token": handle.expose(),
            })),
        )
            .into_response(),
    )
}

/// `DELETE /api/account/{account}/consumer/{consumerId}/session`.
#[instrument(skip_all, fields(account = %account))]
pub async fn end(
    State(state): State<PlatformState>,
    Path((account, consumer)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let org = match crate::platform::credentials::http::authorised(&state, &account, &headers) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let consumer = match ConsumerId::parse(&consumer) {
        Ok(c) => c,
        Err(why) => return invalid(why),
    };
    if state
        .consumer_sessions
        .end(&org.id, &consumer, state.clock.now())
    {
        tracing::info!(consumer = %consumer, "consumer session ended on request");
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("consumer {consumer} has no live session in account {account:?}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(body: &str) -> String {
        match parse(body.as_bytes()) {
            Ok(_) => String::new(),
            Err(r) => format!("{}", r.status()),
        }
    }

    #[test]
    fn bodies_are_checked() {
        let verifier = "v".repeat(43);
        assert_eq!(
            fault(&format!(
                r#"{{"code":"c","redirect_uri":"https://brand.example/cb","code_verifier":"{verifier}"}}"#
            )),
            ""
        );
        assert_eq!(
            fault(r#"{"code":"c","redirect_uri":"https://b.example/cb","nonce":"n"}"#),
            ""
        );
        for bad in [
            "[]",
            "{}",
            r#"{"code":"c"}"#,
            r#"{"code":"c","redirect_uri":"/cb"}"#,
            r#"{"code":"c","redirect_uri":"https://b.example/cb#x"}"#,
            r#"{"code":"c","redirect_uri":"ftp://b.example/cb"}"#,
            r#"{"code":"a b","redirect_uri":"https://b.example/cb"}"#,
            r#"{"code":"c","redirect_uri":"https://b.example/cb","code_verifier":"short"}"#,
            r#"{"code":"c","redirect_uri":"https://b.example/cb","state":"x"}"#,
            r#"{"code":5,"redirect_uri":"https://b.example/cb"}"#,
        ] {
            assert_eq!(fault(bad), "400 Bad Request", "{bad}");
        }
    }
}
