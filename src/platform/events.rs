//! The per-conversation event log: what the delegation flow did, in order.
//!
//! It is what the Gherkin scenarios assert on and what a brand developer
//! reads when debugging (`GET /api/conversations/{id}/events`). Events name
//! what happened and why; they never carry a token, a code or a `state`
//! value.

use serde::Serialize;

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
    ExchangeDone,
    ExchangeFailed {
        reason: String,
    },
    IdTokenValidated,
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
        expires_at: Option<i64>,
    },
    TokenExpired,
    IntegrationCalled {
        integration: String,
        status: u16,
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
    /// Seconds since the epoch on the shared clock.
    pub at: i64,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// The events of one conversation, in order.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EventLog(Vec<Event>);

impl EventLog {
    pub fn push(&mut self, at: i64, kind: EventKind) {
        tracing::debug!(event = ?kind, "conversation event");
        self.0.push(Event { at, kind });
    }

    pub fn events(&self) -> &[Event] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_with_their_kind_flat() {
        let mut log = EventLog::default();
        log.push(
            7,
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
}
