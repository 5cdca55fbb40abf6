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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::events::StateRejection;
use super::integrations::PreparedCall;
use super::org::OrgId;
use crate::secret::Secret;

/// How long a consumed or expired challenge is remembered, so a late
/// replay is reported as reused or expired rather than unknown.
const REMEMBER_SECS: i64 = 3600;

/// One outstanding authentication link.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub conversation: String,
    pub org: OrgId,
    pub credential: String,
    /// The `redirect_uri` of the link, repeated in the code exchange.
    pub redirect_uri: String,
    pub verifier: Secret,
    pub nonce: Secret,
    /// Whether the link asked for the `openid` scope: the token response
    /// must then carry an ID token (OIDC Core 3.1.3.3).
    pub openid: bool,
    pub expires_at: i64,
    pub consumed: bool,
    /// The integration call to run once the token is in.
    pub call: PreparedCall,
}

/// Outstanding challenges by `state`.
#[derive(Clone, Default)]
pub struct Challenges {
    inner: Arc<Mutex<HashMap<String, Challenge>>>,
}

impl Challenges {
    /// Remember a new challenge under `state`; forget long-dead ones.
    pub fn insert(&self, state: String, challenge: Challenge, now: i64) {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, c| c.expires_at + REMEMBER_SECS > now);
        map.insert(state, challenge);
    }

    /// Check `state` for a callback on `account` and consume it, in one
    /// step under the lock: of two concurrent callbacks with the same
    /// `state`, exactly one gets the challenge. A callback on the wrong
    /// account does not consume it (the real one can still arrive).
    /// On refusal, the conversation it belonged to (if known) is returned
    /// for the event log.
    pub fn claim(
        &self,
        state: &str,
        account: &str,
        now: i64,
    ) -> Result<Challenge, (StateRejection, Option<String>)> {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Some(c) = map.get_mut(state) else {
            return Err((StateRejection::Unknown, None));
        };
        let conv = Some(c.conversation.clone());
        if c.org.as_str() != account {
            return Err((StateRejection::WrongAccount, conv));
        }
        if c.consumed {
            return Err((StateRejection::Reused, conv));
        }
        if now >= c.expires_at {
            c.consumed = true;
            return Err((StateRejection::Expired, conv));
        }
        c.consumed = true;
        Ok(c.clone())
    }

    /// The conversation `state` was issued for on `account`, without
    /// consuming it: for the event log of a response refused before its
    /// state is claimed.
    pub fn conversation_of(&self, state: &str, account: &str) -> Option<String> {
        let map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.get(state)
            .filter(|c| c.org.as_str() == account)
            .map(|c| c.conversation.clone())
    }

    /// Outstanding (unconsumed, unexpired) challenges of a conversation.
    pub fn outstanding(&self, conversation: &str, now: i64) -> usize {
        let map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.values()
            .filter(|c| c.conversation == conversation && !c.consumed && now < c.expires_at)
            .count()
    }
}
