//! Consumer delegation in unauthenticated conversations (source documents
//! 000 and 001): the challenge link ([`challenge`]), the callback that
//! turns a code into the conversation's access token ([`callback`]), and
//! the pages the consumer's browser sees ([`pages`]).
//!
//! A `state` is unguessable (256 bits), single use, short lived (on the
//! shared clock) and bound to one conversation and organisation. It also
//! carries the PKCE verifier, the nonce and the integration call waiting
//! for the token.

pub mod callback;
pub mod challenge;
pub mod pages;

use super::PlatformState;
use super::conversations::{ConvInfo, ConversationId, Reply};
use super::events::StateRejection;
use super::integrations::{PreparedCall, SignIn, Turn};
use super::oauth::state_store::{Claimable, Refused, StateStore};
use crate::secret::{Nonce, PkceVerifier};

/// One outstanding authentication link, kept under its `state` in the
/// platform's one [`StateStore`] (bound to the organisation, single use,
/// expiring on the shared clock).
#[derive(Debug, Clone)]
pub struct Challenge {
    pub conversation: ConversationId,
    pub credential: String,
    /// The `redirect_uri` of the link, repeated in the code exchange.
    pub redirect_uri: String,
    pub verifier: PkceVerifier,
    pub nonce: Nonce,
    /// Whether the link asked for the `openid` scope: the token response
    /// must then carry an ID token (OIDC Core 3.1.3.3).
    pub openid: bool,
    /// The integration call to run once the token is in.
    pub call: PreparedCall,
}

/// Outstanding challenges by `state`.
pub type Challenges = StateStore<Challenge>;

impl Claimable for Challenge {
    /// A replayed link is reported in its conversation.
    type Trace = ConversationId;

    fn trace(&self) -> ConversationId {
        self.conversation.clone()
    }
}

impl From<Refused> for StateRejection {
    fn from(r: Refused) -> Self {
        match r {
            Refused::Unknown => StateRejection::Unknown,
            Refused::WrongAccount => StateRejection::WrongAccount,
            Refused::Reused => StateRejection::Reused,
            Refused::Expired => StateRejection::Expired,
        }
    }
}

/// What the consumer is told after an integration's turn: its answer, or,
/// when the consumer must sign in first, a new link for the waiting call.
pub fn reply(state: &PlatformState, conv: &ConvInfo, turn: Turn) -> Reply {
    match turn {
        Turn::Reply(reply) => reply,
        Turn::SignIn(sign_in) => {
            let SignIn {
                credential,
                consumer_auth,
                call,
                reason,
            } = *sign_in;
            challenge::issue(state, conv, &credential, &consumer_auth, call, reason)
        }
    }
}
