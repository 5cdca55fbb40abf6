//! `GET /callback/{account}/redirectCode` (and `/redirectedCode`, the
//! spelling the documents also show): the authorization response.
//!
//! In order: parse the query (a repeated parameter is refused, RFC 6749
//! 3.1); check `iss` (RFC 9207: equal to the configured issuer when
//! present, required when the issuer's metadata advertises
//! `authorization_response_iss_parameter_supported`), before the `state`
//! is spent; claim the `state` (unknown, reused, expired, wrong account: a
//! clear page, nothing changed); refuse if the conversation has closed;
//! report an authorization error (`access_denied`) in the chat; exchange
//! the code server to server; keep the access token in the conversation;
//! run the waiting integration and post the answer; show the browser a
//! "return to the chat" page.
//!
//! The `state` is consumed before the exchange starts, so the same
//! callback arriving twice causes exactly one exchange.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use tracing::instrument;

use super::{challenge, pages};
use crate::platform::PlatformState;
use crate::platform::conversations::{AccessToken, Reply};
use crate::platform::credentials::{Credential, Kind};
use crate::platform::events::{EventKind, RechallengeReason, StateRejection};
use crate::platform::integrations;

/// The callback's parameters; each at most once.
struct Params {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

fn parse(query: Option<&str>) -> Result<Params, String> {
    let mut p = Params {
        code: None,
        state: None,
        error: None,
        iss: None,
    };
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let slot = match k.as_ref() {
            "code" => &mut p.code,
            "state" => &mut p.state,
            "error" => &mut p.error,
            "iss" => &mut p.iss,
            _ => continue,
        };
        if slot.is_some() {
            return Err(format!("The parameter {k} appears more than once."));
        }
        *slot = Some(v.into_owned());
    }
    Ok(p)
}

#[instrument(skip_all, fields(account = %account))]
pub async fn handler(
    State(state): State<PlatformState>,
    Path(account): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match parse(query.as_deref()) {
        Ok(p) => p,
        Err(e) => return pages::refused(&e),
    };
    let Some(state_value) = params.state.as_deref().filter(|s| !s.is_empty()) else {
        tracing::info!(reason = "missing", "callback refused");
        return pages::refused(StateRejection::Missing.explain());
    };
    let now = state.clock.now();
    let convs = &state.conversations;
    // RFC 9207: a response naming another issuer, or none when the
    // issuer's metadata says its responses carry it, is refused before the
    // state is claimed, so a mix-up attempt cannot spend the consumer's
    // real sign-in (the path names the account, hence the issuer). Issuers
    // are compared as strings, exactly as configured (RFC 9207 2.4).
    let provider = state.org(&account).map(|o| o.provider);
    let expected = provider.as_ref().and_then(|p| p.issuer_str());
    let rejection = match (&params.iss, &expected) {
        (Some(iss), Some(expected)) if iss != expected => Some(StateRejection::IssuerMismatch),
        (None, Some(_)) => {
            let required = match &provider {
                Some(p) => state.oauth.iss_parameter_required(p).await.unwrap_or(false),
                None => false,
            };
            required.then_some(StateRejection::IssuerMissing)
        }
        _ => None,
    };
    if let Some(reason) = rejection {
        tracing::info!(?reason, "callback refused");
        if let Some(conv) = state.challenges.peek(state_value, &account, now) {
            convs.event(&conv, now, EventKind::CallbackReceived);
            convs.event(&conv, now, EventKind::StateRejected { reason });
        }
        return pages::refused(reason.explain());
    }
    let ch = match state.challenges.claim(state_value, Some(&account), now) {
        Ok(ch) => ch,
        Err((reason, ch)) => {
            let reason = StateRejection::from(reason);
            let conv = ch;
            tracing::info!(?reason, "callback refused");
            if let Some(conv) = conv {
                convs.event(&conv, now, EventKind::CallbackReceived);
                convs.event(&conv, now, EventKind::StateRejected { reason });
            }
            return pages::refused(reason.explain());
        }
    };
    convs.event(&ch.conversation, now, EventKind::CallbackReceived);
    let reject = |reason: StateRejection| {
        convs.event(&ch.conversation, now, EventKind::StateRejected { reason });
        pages::refused(reason.explain())
    };
    let Some(conv) = convs.info(&ch.conversation).filter(|c| !c.closed) else {
        return reject(StateRejection::ConversationClosed);
    };
    let Some(org) = state.org(conv.org.as_str()) else {
        return reject(StateRejection::WrongAccount);
    };

    if let Some(error) = params.error {
        // RFC 6749 4.1.2.1: a known code, or something else reported as such.
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(64)
            .collect();
        convs.event(
            &conv.id,
            now,
            EventKind::AuthorizationError {
                error: error.clone(),
            },
        );
        let declined = error == "access_denied";
        let text = if declined {
            "You did not allow access, so I cannot do that. Ask me again whenever you want to sign in.".to_string()
        } else {
            format!(
                "Signing in did not complete (the brand said {error}). Ask me again to get a new link."
            )
        };
        convs.say(&conv.id, now, &Reply::text(text));
        return if declined {
            pages::declined()
        } else {
            pages::authorization_error()
        };
    }
    let Some(code) = params.code.filter(|c| !c.is_empty()) else {
        convs.event(
            &conv.id,
            now,
            EventKind::ExchangeFailed {
                reason: "the authorization response carries no code".into(),
                request: None,
            },
        );
        return pages::refused("The sign-in response carries no authorization code.");
    };

    let exchanged = state
        .oauth
        .exchange_code(
            &org.provider,
            &code,
            &ch.verifier,
            &ch.redirect_uri,
            &ch.nonce,
            ch.openid,
            &state.clock,
        )
        .await;
    drop(code);
    let now = state.clock.now();
    let exchanged = match exchanged {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "code exchange failed");
            convs.event(
                &conv.id,
                now,
                EventKind::ExchangeFailed {
                    reason: e.to_string(),
                    request: e.request,
                },
            );
            // A new link, with the same waiting integration.
            if let Some(Credential {
                name,
                kind: Kind::ConsumerAuthentication(credential),
                ..
            }) = state.vault.get(&conv.org, &ch.credential)
            {
                let reply = challenge::issue(
                    &state,
                    &conv,
                    &name,
                    &credential,
                    ch.call,
                    Some(RechallengeReason::ExchangeFailed),
                );
                convs.say(&conv.id, now, &reply);
            } else {
                convs.say(
                    &conv.id,
                    now,
                    &Reply::text("Signing you in failed at the brand's side. Please ask me again."),
                );
            }
            return pages::exchange_failed();
        }
    };
    convs.event(
        &conv.id,
        now,
        EventKind::ExchangeDone {
            request: exchanged.request,
        },
    );
    for d in &exchanged.departures {
        convs.event(
            &conv.id,
            now,
            EventKind::TokenResponseDeparture {
                code: d.code.to_string(),
                rule: d.rule.to_string(),
                detail: d.detail.clone(),
            },
        );
    }
    if exchanged.id_token_validated {
        convs.event(
            &conv.id,
            now,
            EventKind::IdTokenValidated {
                claims: exchanged.id_token_claims,
            },
        );
    }
    if exchanged.refresh_token_dropped {
        convs.event(&conv.id, now, EventKind::RefreshTokenDropped);
    }
    let lifetime_secs = exchanged.expires_in.map(|d| d.as_secs());
    let held = AccessToken::new(exchanged.access_token, lifetime_secs, now);
    let (token, expires_at) = (held.access_token.clone(), held.expires_at);
    if !convs.store_token(&conv.id, held) {
        // Closed while the exchange ran: the token goes nowhere.
        return reject(StateRejection::ConversationClosed);
    }
    convs.event(
        &conv.id,
        now,
        EventKind::TokenStored {
            expires_at,
            lifetime_secs,
        },
    );

    let reply =
        integrations::execute(&state, &conv, ch.call, integrations::Auth::bearer(&token)).await;
    let reply = super::reply(&state, &conv, reply);
    convs.say(&conv.id, state.clock.now(), &reply);
    pages::signed_in()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(parse(Some("code=a&state=b&code=c")).is_err());
        let p = parse(Some("code=a&state=b&iss=http%3A%2F%2Fx&other=1&other=2")).unwrap();
        assert_eq!(p.code.as_deref(), Some("a"));
        assert_eq!(p.iss.as_deref(), Some("http://x"));
        assert!(parse(None).unwrap().state.is_none());
    }
}
