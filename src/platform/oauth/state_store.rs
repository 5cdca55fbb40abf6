//! One store of single-use `state` values for every authorization the
//! platform starts: the consumer's sign-in link of a conversation
//! ([`crate::platform::delegation`]) and an admin's Authorize of an OAuth
//! 2.0 authorization code credential
//! ([`crate::platform::credentials::oauth2_authorization_code`]).
//!
//! A `state` is bound to an account (the organisation), short lived (its
//! expiry on the shared clock) and used once (RFC 6749 10.12, RFC 9700
//! 4.7.1): [`StateStore::claim`] checks and consumes it in one step under
//! the lock, so of two concurrent callbacks with the same `state` exactly
//! one gets it. A claim on another account does not consume it (the real
//! callback can still arrive); an expired one is consumed and refused.
//! Consumed and expired entries are remembered for [`REMEMBER_SECS`], so a
//! late replay is reported as reused or expired rather than unknown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::platform::org::OrgId;

/// How long a consumed or expired `state` is remembered.
pub const REMEMBER_SECS: i64 = 3600;

/// Why a `state` was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Never issued here, or forgotten.
    Unknown,
    /// Issued for another account.
    WrongAccount,
    /// Already used.
    Reused,
    /// Past its lifetime.
    Expired,
}

#[derive(Debug)]
struct Entry<T> {
    value: T,
    account: OrgId,
    expires_at: i64,
    consumed: bool,
}

/// Outstanding authorizations by `state`. Cloning shares the store.
#[derive(Debug)]
pub struct StateStore<T> {
    inner: Arc<Mutex<HashMap<String, Entry<T>>>>,
}

impl<T> Clone for StateStore<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Default for StateStore<T> {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
        }
    }
}

impl<T: Clone> StateStore<T> {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry<T>>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remember `value` under `state` for `account` until `expires_at`;
    /// forget entries dead for longer than [`REMEMBER_SECS`].
    pub fn insert(&self, state: String, account: OrgId, value: T, expires_at: i64, now: i64) {
        let mut map = self.lock();
        map.retain(|_, e| e.expires_at + REMEMBER_SECS > now);
        map.insert(
            state,
            Entry {
                value,
                account,
                expires_at,
                consumed: false,
            },
        );
    }

    /// Check `state` and consume it. `account`: the account the callback
    /// names, when its path names one. On refusal, the value the `state`
    /// was issued with, if it is known (for the event log).
    pub fn claim(
        &self,
        state: &str,
        account: Option<&str>,
        now: i64,
    ) -> Result<T, (Refused, Option<T>)> {
        let mut map = self.lock();
        let Some(e) = map.get_mut(state) else {
            return Err((Refused::Unknown, None));
        };
        if account.is_some_and(|a| e.account.as_str() != a) {
            return Err((Refused::WrongAccount, Some(e.value.clone())));
        }
        if e.consumed {
            return Err((Refused::Reused, Some(e.value.clone())));
        }
        e.consumed = true;
        if now >= e.expires_at {
            return Err((Refused::Expired, Some(e.value.clone())));
        }
        Ok(e.value.clone())
    }

    /// The value of `state` on `account`, without consuming it: for the
    /// event log of a response refused before its state is claimed.
    pub fn peek(&self, state: &str, account: &str) -> Option<T> {
        self.lock()
            .get(state)
            .filter(|e| e.account.as_str() == account)
            .map(|e| e.value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> StateStore<&'static str> {
        let s = StateStore::default();
        s.insert("s".into(), OrgId::parse("demo").unwrap(), "conv-1", 100, 0);
        s
    }

    #[test]
    fn a_state_is_used_once_on_its_account_while_it_lives() {
        let s = store();
        assert_eq!(
            s.claim("s", Some("other"), 10),
            Err((Refused::WrongAccount, Some("conv-1")))
        );
        assert_eq!(s.claim("s", Some("demo"), 10), Ok("conv-1"));
        assert_eq!(
            s.claim("s", Some("demo"), 11),
            Err((Refused::Reused, Some("conv-1")))
        );
        assert_eq!(s.claim("nope", None, 10), Err((Refused::Unknown, None)));
        let s = store();
        assert_eq!(
            s.claim("s", None, 100),
            Err((Refused::Expired, Some("conv-1")))
        );
        assert_eq!(
            s.claim("s", None, 101),
            Err((Refused::Reused, Some("conv-1")))
        );
    }

    #[test]
    fn dead_entries_are_remembered_for_a_while_then_forgotten() {
        let s = store();
        s.insert(
            "t".into(),
            OrgId::parse("demo").unwrap(),
            "conv-2",
            200,
            100 + REMEMBER_SECS - 1,
        );
        assert_eq!(s.peek("s", "demo"), Some("conv-1"));
        s.insert(
            "u".into(),
            OrgId::parse("demo").unwrap(),
            "conv-3",
            300,
            100 + REMEMBER_SECS,
        );
        assert_eq!(s.peek("s", "demo"), None);
        assert_eq!(s.claim("s", None, 0), Err((Refused::Unknown, None)));
    }
}
