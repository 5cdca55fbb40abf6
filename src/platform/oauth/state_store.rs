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
//! late replay is reported as reused or expired rather than unknown; of a
//! consumed entry only its [`Claimable::Trace`] is kept (whose it was: a
//! conversation id), not the PKCE verifier, nonce or waiting call, so a
//! steady stream of sign-ins does not pile up whole challenges for an
//! hour. Forgotten entries are swept at most once per second of the
//! shared clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::Instant;
use crate::platform::org::OrgId;

/// How long a consumed or expired `state` is remembered.
pub const REMEMBER_SECS: u64 = 3600;

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

/// A value kept under a `state`.
pub trait Claimable: Clone {
    /// What is kept once the value is consumed: enough to say whose a
    /// replayed `state` was.
    type Trace: Clone;

    fn trace(&self) -> Self::Trace;
}

/// A live value, or the trace of a consumed one.
enum Held<T: Claimable> {
    Live(T),
    Spent(T::Trace),
}

impl<T: Claimable> Held<T> {
    fn trace(&self) -> T::Trace {
        match self {
            Held::Live(v) => v.trace(),
            Held::Spent(t) => t.clone(),
        }
    }
}

struct Entry<T: Claimable> {
    held: Held<T>,
    account: OrgId,
    expires_at: Instant,
}

struct Inner<T: Claimable> {
    entries: HashMap<String, Entry<T>>,
    /// The clock second of the last sweep.
    swept_at: Instant,
}

impl<T: Claimable> Default for Inner<T> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            swept_at: Instant::MIN,
        }
    }
}

/// Outstanding authorizations by `state`. Cloning shares the store.
pub struct StateStore<T: Claimable> {
    inner: Arc<Mutex<Inner<T>>>,
}

/// How many `state` values are held; never the values.
impl<T: Claimable> std::fmt::Debug for StateStore<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("entries", &self.lock().entries.len())
            .finish()
    }
}

impl<T: Claimable> Clone for StateStore<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Claimable> Default for StateStore<T> {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
        }
    }
}

impl<T: Claimable> StateStore<T> {
    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keep `value` under `state` for `account` until `expires_at`.
    pub fn insert(
        &self,
        state: String,
        account: OrgId,
        value: T,
        expires_at: Instant,
        now: Instant,
    ) {
        let mut inner = self.lock();
        if now > inner.swept_at {
            inner.swept_at = now;
            inner
                .entries
                .retain(|_, e| e.expires_at + Duration::from_secs(REMEMBER_SECS) > now);
        }
        inner.entries.insert(
            state,
            Entry {
                held: Held::Live(value),
                account,
                expires_at,
            },
        );
    }

    /// Check and consume `state` in one step. `account`, when given, must
    /// be the one it was issued for (a mismatch does not consume it). On
    /// refusal, the trace of the value, if the `state` is known.
    pub fn claim(
        &self,
        state: &str,
        account: Option<&str>,
        now: Instant,
    ) -> Result<T, (Refused, Option<T::Trace>)> {
        let mut inner = self.lock();
        let Some(e) = inner.entries.get_mut(state) else {
            return Err((Refused::Unknown, None));
        };
        if account.is_some_and(|a| e.account.as_str() != a) {
            return Err((Refused::WrongAccount, Some(e.held.trace())));
        }
        let trace = e.held.trace();
        let Held::Live(value) = std::mem::replace(&mut e.held, Held::Spent(trace.clone())) else {
            return Err((Refused::Reused, Some(trace)));
        };
        if now >= e.expires_at {
            return Err((Refused::Expired, Some(trace)));
        }
        Ok(value)
    }

    /// The trace of the value under `state` of `account`, without
    /// consuming it.
    pub fn peek(&self, state: &str, account: &str) -> Option<T::Trace> {
        self.lock()
            .entries
            .get(state)
            .filter(|e| e.account.as_str() == account)
            .map(|e| e.held.trace())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Instant {
        Instant::UNIX_EPOCH + Duration::from_secs(secs)
    }

    impl Claimable for &'static str {
        type Trace = &'static str;

        fn trace(&self) -> &'static str {
            self
        }
    }

    fn store() -> StateStore<&'static str> {
        let s = StateStore::default();
        s.insert(
            "s".into(),
            OrgId::parse("demo").unwrap(),
            "conv-1",
            at(100),
            at(0),
        );
        s
    }

    #[test]
    fn a_state_is_used_once_on_its_account_while_it_lives() {
        let s = store();
        assert_eq!(
            s.claim("s", Some("other"), at(10)),
            Err((Refused::WrongAccount, Some("conv-1")))
        );
        assert_eq!(s.claim("s", Some("demo"), at(10)), Ok("conv-1"));
        assert_eq!(
            s.claim("s", Some("demo"), at(11)),
            Err((Refused::Reused, Some("conv-1")))
        );
        assert_eq!(s.claim("nope", None, at(10)), Err((Refused::Unknown, None)));
        let s = store();
        assert_eq!(
            s.claim("s", None, at(100)),
            Err((Refused::Expired, Some("conv-1")))
        );
        assert_eq!(
            s.claim("s", None, at(101)),
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
            at(200),
            at(100 + REMEMBER_SECS - 1),
        );
        assert_eq!(s.peek("s", "demo"), Some("conv-1"));
        s.insert(
            "u".into(),
            OrgId::parse("demo").unwrap(),
            "conv-3",
            at(300),
            at(100 + REMEMBER_SECS),
        );
        assert_eq!(s.peek("s", "demo"), None);
        assert_eq!(s.claim("s", None, at(0)), Err((Refused::Unknown, None)));
    }

    /// A consumed value leaves only its trace behind (the whole value is
    /// handed to the one claim that consumed it).
    #[test]
    fn a_consumed_state_keeps_only_its_trace() {
        #[derive(Clone, Debug, PartialEq)]
        struct Heavy(Vec<u8>, &'static str);
        impl Claimable for Heavy {
            type Trace = &'static str;
            fn trace(&self) -> &'static str {
                self.1
            }
        }
        let s = StateStore::default();
        let demo = OrgId::parse("demo").unwrap();
        s.insert(
            "s".into(),
            demo,
            Heavy(vec![0; 1 << 20], "conv-1"),
            at(100),
            at(0),
        );
        assert_eq!(s.claim("s", None, at(1)).unwrap().0.len(), 1 << 20);
        let inner = s.lock();
        assert!(matches!(inner.entries["s"].held, Held::Spent("conv-1")));
        drop(inner);
        assert_eq!(
            s.claim("s", None, at(2)),
            Err((Refused::Reused, Some("conv-1")))
        );
    }
}
