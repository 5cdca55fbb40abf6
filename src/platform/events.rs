//! The per-conversation event log: what the delegation flow did, in order.
//!
//! It is what the Gherkin scenarios assert on and what a brand developer
//! reads when debugging (`GET /api/conversations/{id}/events`), and what
//! the chat page's timeline draws. Events name what happened and why, with
//! the details a developer needs to follow the flow (the authorization
//! request's parameters, the token request as logged, the ID token's
//! claims, the API call); they never carry a token, a code, a secret, a
//! verifier or a `state` value: what would is replaced when the event is
//! built ([`AuthorizationRequest::of`],
//! [`crate::platform::oauth::id_token::shown_claims`]).
//!
//! A log keeps the newest events only
//! ([`crate::platform::conversations::ConversationLimits::max_events`]) and
//! counts those it dropped.

use serde::Serialize;
use serde_json::Value;

use crate::clock::Instant;
use crate::platform::capped::{Capped, Weigh, json_len};
use crate::platform::oauth::outbound::{self, OutboundRequest};

/// Why a callback's `state` was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StateRejection {
    /// No `state` parameter at all.
    Missing,
    /// Never issued by this platform (or forgotten long ago).
    Unknown,
    /// Already used by an earlier callback (single use).
    Reused,
    /// Issued, but older than its lifetime on the shared clock.
    Expired,
    /// Issued for another account than the callback path names.
    WrongAccount,
    /// The conversation it was bound to has been closed.
    ConversationClosed,
    /// The response's `iss` is not the organisation's issuer (RFC 9207).
    IssuerMismatch,
    /// The response has no `iss` although the issuer's metadata says its
    /// responses carry one (RFC 9207 2.4).
    IssuerMissing,
}

impl StateRejection {
    /// A sentence for the consumer's browser.
    pub fn explain(self) -> &'static str {
        match self {
            StateRejection::Missing => "The sign-in response carries no state parameter.",
            StateRejection::Unknown => {
                "This sign-in link was not issued here, or is too old to be recognised."
            }
            StateRejection::Reused => "This sign-in link has already been used.",
            StateRejection::Expired => "This sign-in link has expired.",
            StateRejection::WrongAccount => "This sign-in link belongs to another account.",
            StateRejection::ConversationClosed => {
                "The conversation this sign-in link belongs to has been closed."
            }
            StateRejection::IssuerMismatch => {
                "The sign-in response came from an unexpected identity provider."
            }
            StateRejection::IssuerMissing => {
                "The sign-in response does not name the identity provider it came from, although that provider always does (RFC 9207): it may have been forged."
            }
        }
    }
}

/// What happened in a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    ConversationOpened,
    ConsumerMessage,
    DialogMatched {
        dialog: String,
    },
    NoDialog,
    /// An authentication link was sent (no valid token in the context).
    ChallengeSent {
        credential: String,
        /// What the link asks the IdP for, secrets' values hidden.
        authorization_request: AuthorizationRequest,
    },
    /// A new link after an expiry or a 401 `invalid_token`.
    Rechallenge {
        reason: RechallengeReason,
    },
    CallbackReceived,
    StateRejected {
        reason: StateRejection,
    },
    /// The authorization response carried an error (e.g. `access_denied`).
    AuthorizationError {
        error: String,
    },
    ExchangeDone {
        /// The token request as the platform logged it.
        #[serde(skip_serializing_if = "Option::is_none")]
        request: Option<OutboundRequest>,
    },
    ExchangeFailed {
        reason: String,
        /// The token request as logged, when one was sent.
        #[serde(skip_serializing_if = "Option::is_none")]
        request: Option<OutboundRequest>,
    },
    IdTokenValidated {
        /// The token's claims, its nonce and hashes hidden.
        #[serde(skip_serializing_if = "Option::is_none")]
        claims: Option<Value>,
    },
    /// The token response departed from the standard in a way that was
    /// tolerated ([`crate::platform::oauth::token_response`]).
    TokenResponseDeparture {
        code: String,
        rule: String,
        detail: String,
    },
    /// The token endpoint also returned a refresh token; it was dropped.
    RefreshTokenDropped,
    TokenStored {
        expires_at: Option<Instant>,
        /// Its lifetime from `expires_in`, seconds.
        #[serde(skip_serializing_if = "Option::is_none")]
        lifetime_secs: Option<u64>,
    },
    TokenExpired,
    IntegrationCalled {
        integration: String,
        status: u16,
        method: String,
        /// The URL called, without query.
        url: String,
    },
    ApiError {
        status: Option<u16>,
        detail: String,
    },
    AnswerPosted,
    ConversationClosed,
    /// A vault credential was applied to an integration call.
    CredentialApplied {
        credential: String,
        credential_type: String,
    },
    /// A vault credential could not authorise a call (e.g. it needs to be
    /// authorised again); the call was not made.
    CredentialUnavailable {
        credential: String,
        reason: String,
    },
}

/// The authorization request an authentication link makes, as people may
/// see it: the endpoint (no query), and each query parameter by name with
/// its value, except the values that bind the response to this
/// conversation or prove the code's possession, replaced by their length.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuthorizationRequest {
    pub endpoint: String,
    /// Name and value (or what stands for it), in the link's order.
    pub parameters: Vec<(String, String)>,
}

/// Parameters whose values are never shown: those the platform adds to
/// every link (`state`, `nonce`, `code_challenge`), and any a credential's
/// URL should not carry but might.
const HIDDEN_PARAMETERS: [&str; 9] = [
    "state",
    "nonce",
    "code_challenge",
    "code_verifier",
    "code",
    "client_secret",
    "access_token",
    "refresh_token",
    "id_token_hint",
];

impl AuthorizationRequest {
    pub fn of(link: &url::Url) -> Self {
        let parameters = link
            .query_pairs()
            .map(|(name, value)| {
                let shown = if HIDDEN_PARAMETERS.contains(&name.as_ref()) {
                    format!("(set, {} characters)", value.chars().count())
                } else {
                    value.into_owned()
                };
                (name.into_owned(), shown)
            })
            .collect();
        AuthorizationRequest {
            endpoint: outbound::endpoint(link.as_str()),
            parameters,
        }
    }
}

/// Why a consumer was challenged again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RechallengeReason {
    /// The stored token's expiry (from `expires_in`) passed on the shared clock.
    Expired,
    /// The brand API answered 401 `invalid_token`.
    InvalidToken,
    /// The previous sign-in failed at the token endpoint.
    ExchangeFailed,
}

/// One entry of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// On the shared clock (seconds since the epoch in JSON).
    pub at: Instant,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Its JSON's length, about what its strings and values take.
impl Weigh for Event {
    fn weight(&self) -> usize {
        std::mem::size_of::<Event>() + json_len(&self.kind)
    }
}

/// The events of one conversation, in order: the newest
/// [`crate::platform::conversations::ConversationLimits::max_events`], and
/// how many earlier ones were dropped.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct EventLog(Capped<Event>);

impl EventLog {
    /// An empty log keeping the newest `cap` events.
    pub fn new(cap: usize) -> Self {
        Self(Capped::new(cap))
    }

    pub fn push(&mut self, at: Instant, kind: EventKind) {
        tracing::debug!(event = ?kind, "conversation event");
        self.0.push(Event { at, kind });
    }

    /// The events kept, oldest first, with their sequence numbers.
    pub fn events(&self) -> &Capped<Event> {
        &self.0
    }

    /// Earlier events no longer kept.
    pub fn dropped(&self) -> u64 {
        self.0.dropped()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_with_their_kind_flat() {
        let mut log = EventLog::new(10);
        log.push(
            Instant::from_unix_secs(7),
            EventKind::StateRejected {
                reason: StateRejection::Reused,
            },
        );
        let json = serde_json::to_value(log.events()).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{ "at": 7, "kind": "state_rejected", "reason": "reused" }])
        );
    }

    #[test]
    fn an_authorization_request_shows_parameters_but_not_the_bound_values() {
        let link = url::Url::parse(
            "https://u:p@idp.example/authorize?client_id=bot&state=s3cr3t-state&nonce=n0nce&code_challenge=ch4llenge&scope=openid+orders",
        )
        .unwrap();
        let shown = AuthorizationRequest::of(&link);
        assert_eq!(shown.endpoint, "https://idp.example/authorize");
        let p = |n: &str| {
            shown
                .parameters
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(p("client_id"), Some("bot"));
        assert_eq!(p("scope"), Some("openid orders"));
        assert_eq!(p("state"), Some("(set, 12 characters)"));
        assert_eq!(p("nonce"), Some("(set, 5 characters)"));
        assert_eq!(p("code_challenge"), Some("(set, 9 characters)"));
    }
}
