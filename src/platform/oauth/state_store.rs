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
//!
//! Consumed and expired entries are remembered until [`REMEMBER_SECS`]
//! after their expiry, so a late replay is reported as reused or expired
//! rather than unknown; from then on it is unknown. At 50 sign-ins a
//! second that is close to 200,000 remembered entries (the hour and the
//! life of a link), so a remembered one is kept small: about 120 bytes
//! (`benches/state_store.rs` measures it; see `benches/README.md`):
//!
//! - Live values and remembered ones are kept apart. Of a consumed value
//!   only its [`Claimable::Trace`] is kept (whose it was: a conversation
//!   id), not the PKCE verifier, nonce or waiting call; a value that
//!   expires unclaimed (an abandoned link) is reduced to its trace at the
//!   first sweep after its expiry.
//! - A `state` is held as the first 16 bytes of its SHA-256, not as the
//!   string. The `state` is a bearer secret while it lives: the store
//!   cannot show or leak one, only recognise it when presented.
//! - The account is an index into the organisations seen here (one entry
//!   per organisation that ever issued a `state`), not a string per entry.
//! - Every `state` is filed by its expiry second. A sweep, at most once
//!   per second of the shared clock (on an insert or a claim), reduces
//!   what expired since the previous sweep to traces and forgets what
//!   expired [`REMEMBER_SECS`] ago: it costs what it reduces or forgets,
//!   not a walk over every entry.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::clock::Instant;
use crate::platform::org::OrgId;

/// How long after its expiry a consumed or expired `state` is remembered.
pub const REMEMBER_SECS: u64 = 3600;

const REMEMBER: Duration = Duration::from_secs(REMEMBER_SECS);

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

/// A `state` as the store knows it: the first 16 bytes of its SHA-256.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key([u8; 16]);

impl Key {
    fn of(state: &str) -> Self {
        let digest = Sha256::digest(state.as_bytes());
        let mut key = [0; 16];
        key.copy_from_slice(&digest[..16]);
        Self(key)
    }
}

/// An organisation as the store knows it: its place in `Inner::accounts`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Account(u32);

/// A value not yet claimed.
struct Live<T> {
    value: T,
    account: Account,
    expires_at: Instant,
}

/// What is left of a claimed or expired value.
struct Spent<R> {
    trace: R,
    expires_at: Instant,
    account: Account,
    /// Whether it was claimed (else it expired unclaimed, and its first
    /// claim is told so).
    claimed: bool,
}

/// Whether an entry that expires at `expires_at` is still remembered at
/// `now`.
fn remembered(expires_at: Instant, now: Instant) -> bool {
    now < expires_at.saturating_add(REMEMBER)
}

/// Whether `account`, when given, is not the organisation of `a`.
fn other_account(accounts: &[OrgId], a: Account, account: Option<&str>) -> bool {
    account.is_some_and(|name| accounts[a.0 as usize].as_str() != name)
}

struct Inner<T: Claimable> {
    live: HashMap<Key, Live<T>>,
    spent: HashMap<Key, Spent<T::Trace>>,
    /// Every key by its expiry second, stale ones included (a key
    /// inserted again with another expiry): the sweep checks the expiry of
    /// the entry before it acts.
    by_expiry: BTreeMap<Instant, Vec<Key>>,
    /// The organisations by [`Account`], and the way back.
    accounts: Vec<OrgId>,
    account_of: HashMap<OrgId, Account>,
    /// The clock second of the last sweep.
    swept_at: Instant,
}

impl<T: Claimable> Default for Inner<T> {
    fn default() -> Self {
        Self {
            live: HashMap::new(),
            spent: HashMap::new(),
            by_expiry: BTreeMap::new(),
            accounts: Vec::new(),
            account_of: HashMap::new(),
            swept_at: Instant::MIN,
        }
    }
}

impl<T: Claimable> Inner<T> {
    fn account(&mut self, org: OrgId) -> Account {
        if let Some(a) = self.account_of.get(&org) {
            return *a;
        }
        let a = Account(u32::try_from(self.accounts.len()).expect("fewer than 2^32 organisations"));
        self.accounts.push(org.clone());
        self.account_of.insert(org, a);
        a
    }

    /// At most once per clock second: forget what expired
    /// [`REMEMBER_SECS`] ago, and reduce what expired since the last sweep
    /// to its trace.
    fn sweep(&mut self, now: Instant) {
        if now <= self.swept_at {
            return;
        }
        let since = std::mem::replace(&mut self.swept_at, now);
        while let Some(first) = self.by_expiry.first_entry() {
            let at = *first.key();
            if remembered(at, now) {
                break;
            }
            for key in first.remove() {
                if let Entry::Occupied(e) = self.live.entry(key) {
                    if e.get().expires_at == at {
                        e.remove();
                    }
                }
                if let Entry::Occupied(e) = self.spent.entry(key) {
                    if e.get().expires_at == at {
                        e.remove();
                    }
                }
            }
        }
        let expired = (Bound::Excluded(since), Bound::Included(now));
        for (&at, keys) in self.by_expiry.range_mut(expired) {
            // A second past takes few keys more (a link dead on arrival,
            // a clock moved back): give back the spare room.
            keys.shrink_to_fit();
            for key in keys.iter() {
                let Entry::Occupied(e) = self.live.entry(*key) else {
                    continue;
                };
                if e.get().expires_at != at {
                    continue;
                }
                let Live { value, account, .. } = e.remove();
                self.spent.insert(
                    *key,
                    Spent {
                        trace: value.trace(),
                        expires_at: at,
                        account,
                        claimed: false,
                    },
                );
            }
        }
    }
}

/// Outstanding authorizations by `state`. Cloning shares the store.
pub struct StateStore<T: Claimable> {
    inner: Arc<Mutex<Inner<T>>>,
}

/// How many `state` values are held; never the values (the store does
/// not have them).
impl<T: Claimable> std::fmt::Debug for StateStore<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("StateStore")
            .field("live", &inner.live.len())
            .field("remembered", &inner.spent.len())
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

    /// Keep `value` under `state` for `account` until `expires_at`. The
    /// store keeps a digest of `state`, not `state`.
    pub fn insert(
        &self,
        state: String,
        account: OrgId,
        value: T,
        expires_at: Instant,
        now: Instant,
    ) {
        let key = Key::of(&state);
        drop(state);
        let mut inner = self.lock();
        inner.sweep(now);
        let account = inner.account(account);
        if now >= expires_at {
            // Dead on arrival: what the sweep would make of it.
            inner.live.remove(&key);
            inner.spent.insert(
                key,
                Spent {
                    trace: value.trace(),
                    expires_at,
                    account,
                    claimed: false,
                },
            );
        } else {
            inner.spent.remove(&key);
            inner.live.insert(
                key,
                Live {
                    value,
                    account,
                    expires_at,
                },
            );
        }
        inner.by_expiry.entry(expires_at).or_default().push(key);
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
        let key = Key::of(state);
        let mut inner = self.lock();
        inner.sweep(now);
        let Inner {
            live,
            spent,
            accounts,
            ..
        } = &mut *inner;
        if let Entry::Occupied(e) = live.entry(key) {
            if !remembered(e.get().expires_at, now) {
                return Err((Refused::Unknown, None));
            }
            if other_account(accounts, e.get().account, account) {
                return Err((Refused::WrongAccount, Some(e.get().value.trace())));
            }
            let Live {
                value,
                account,
                expires_at,
            } = e.remove();
            let trace = value.trace();
            let expired = now >= expires_at;
            let refusal = expired.then(|| trace.clone());
            spent.insert(
                key,
                Spent {
                    trace,
                    expires_at,
                    account,
                    claimed: true,
                },
            );
            return match refusal {
                Some(trace) => Err((Refused::Expired, Some(trace))),
                None => Ok(value),
            };
        }
        let Some(e) = spent.get_mut(&key) else {
            return Err((Refused::Unknown, None));
        };
        if !remembered(e.expires_at, now) {
            return Err((Refused::Unknown, None));
        }
        if other_account(accounts, e.account, account) {
            return Err((Refused::WrongAccount, Some(e.trace.clone())));
        }
        let refused = if std::mem::replace(&mut e.claimed, true) {
            Refused::Reused
        } else {
            Refused::Expired
        };
        Err((refused, Some(e.trace.clone())))
    }

    /// The trace of the value under `state` of `account`, live or
    /// remembered at `now`, without consuming it.
    pub fn peek(&self, state: &str, account: &str, now: Instant) -> Option<T::Trace> {
        let key = Key::of(state);
        let inner = self.lock();
        let ours = |a: Account, expires_at: Instant| {
            remembered(expires_at, now) && !other_account(&inner.accounts, a, Some(account))
        };
        if let Some(e) = inner.live.get(&key) {
            return ours(e.account, e.expires_at).then(|| e.value.trace());
        }
        let e = inner.spent.get(&key)?;
        ours(e.account, e.expires_at).then(|| e.trace.clone())
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
        assert_eq!(
            s.peek("s", "demo", at(100 + REMEMBER_SECS - 1)),
            Some("conv-1")
        );
        s.insert(
            "u".into(),
            OrgId::parse("demo").unwrap(),
            "conv-3",
            at(300),
            at(100 + REMEMBER_SECS),
        );
        assert_eq!(s.peek("s", "demo", at(100 + REMEMBER_SECS)), None);
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
        assert!(inner.live.is_empty());
        assert_eq!(inner.spent[&Key::of("s")].trace, "conv-1");
        drop(inner);
        assert_eq!(
            s.claim("s", None, at(2)),
            Err((Refused::Reused, Some("conv-1")))
        );
    }

    /// A link that expires unclaimed is reduced to its trace at the next
    /// sweep, and still reported as expired, then as reused.
    #[test]
    fn an_expired_state_is_reduced_to_its_trace() {
        let s = store();
        s.insert(
            "t".into(),
            OrgId::parse("demo").unwrap(),
            "conv-2",
            at(300),
            at(100),
        );
        {
            let inner = s.lock();
            assert_eq!(inner.live.len(), 1);
            assert!(!inner.spent[&Key::of("s")].claimed);
        }
        assert_eq!(s.peek("s", "demo", at(101)), Some("conv-1"));
        assert_eq!(s.peek("s", "other", at(101)), None);
        assert_eq!(
            s.claim("s", Some("other"), at(101)),
            Err((Refused::WrongAccount, Some("conv-1")))
        );
        assert_eq!(
            s.claim("s", Some("demo"), at(101)),
            Err((Refused::Expired, Some("conv-1")))
        );
        assert_eq!(
            s.claim("s", None, at(102)),
            Err((Refused::Reused, Some("conv-1")))
        );
        assert_eq!(s.claim("t", Some("demo"), at(102)), Ok("conv-2"));
    }

    /// Of many threads claiming one `state` at once, exactly one gets it.
    #[test]
    fn one_of_concurrent_claims_wins() {
        for _ in 0..20 {
            let s = store();
            let barrier = std::sync::Barrier::new(8);
            let wins = std::thread::scope(|scope| {
                let threads: Vec<_> = (0..8)
                    .map(|_| {
                        scope.spawn(|| {
                            barrier.wait();
                            s.claim("s", Some("demo"), at(10))
                        })
                    })
                    .collect();
                threads
                    .into_iter()
                    .map(|t| t.join().unwrap())
                    .filter(|r| r.is_ok())
                    .count()
            });
            assert_eq!(wins, 1);
            assert_eq!(
                s.claim("s", Some("demo"), at(10)),
                Err((Refused::Reused, Some("conv-1")))
            );
        }
    }

    #[test]
    fn debug_shows_counts_never_a_state() {
        let s = store();
        s.insert(
            "a-secret-state-value".into(),
            OrgId::parse("demo").unwrap(),
            "conv-2",
            at(100),
            at(0),
        );
        let _ = s.claim("s", None, at(1));
        let shown = format!("{s:?}");
        assert_eq!(shown, "StateStore { live: 1, remembered: 1 }");
    }

    /// The store against a plain map that remembers everything and
    /// answers by the rules of the module documentation.
    mod model {
        use super::*;
        use proptest::prelude::*;

        impl Claimable for u32 {
            type Trace = u32;

            fn trace(&self) -> u32 {
                *self
            }
        }

        const STATES: [&str; 5] = ["s0", "s1", "s2", "s3", "s4"];
        const ACCOUNTS: [&str; 3] = ["demo", "acme", "other"];

        #[derive(Clone, Debug)]
        enum Op {
            /// A `state`, an account (of the first two), a lifetime.
            Insert(usize, usize, u64),
            /// A `state`, an account or none.
            Claim(usize, Option<usize>),
            Peek(usize, usize),
            Advance(u64),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                3 => (0..STATES.len(), 0..2usize, 0..20u64)
                    .prop_map(|(s, a, ttl)| Op::Insert(s, a, ttl)),
                4 => (0..STATES.len(), proptest::option::of(0..ACCOUNTS.len()))
                    .prop_map(|(s, a)| Op::Claim(s, a)),
                2 => (0..STATES.len(), 0..ACCOUNTS.len()).prop_map(|(s, a)| Op::Peek(s, a)),
                2 => prop_oneof![0..10u64, REMEMBER_SECS - 30..REMEMBER_SECS + 30]
                    .prop_map(Op::Advance),
            ]
        }

        struct Held {
            account: &'static str,
            value: u32,
            expires_at: Instant,
            live: bool,
        }

        #[derive(Default)]
        struct Model(HashMap<String, Held>);

        impl Model {
            fn get(&mut self, state: &str, now: Instant) -> Option<&mut Held> {
                self.0
                    .get_mut(state)
                    .filter(|h| now < h.expires_at + Duration::from_secs(REMEMBER_SECS))
            }

            fn claim(
                &mut self,
                state: &str,
                account: Option<&str>,
                now: Instant,
            ) -> Result<u32, (Refused, Option<u32>)> {
                let Some(h) = self.get(state, now) else {
                    return Err((Refused::Unknown, None));
                };
                if account.is_some_and(|a| a != h.account) {
                    return Err((Refused::WrongAccount, Some(h.value)));
                }
                if !std::mem::replace(&mut h.live, false) {
                    return Err((Refused::Reused, Some(h.value)));
                }
                if now >= h.expires_at {
                    return Err((Refused::Expired, Some(h.value)));
                }
                Ok(h.value)
            }
        }

        proptest! {
            #[test]
            fn the_store_answers_as_the_model(ops in proptest::collection::vec(op(), 1..80)) {
                let store: StateStore<u32> = StateStore::default();
                let mut model = Model::default();
                let mut now = at(1_000);
                for (i, op) in ops.into_iter().enumerate() {
                    let value = i as u32;
                    match op {
                        Op::Insert(s, a, ttl) => {
                            let expires_at = now + Duration::from_secs(ttl);
                            store.insert(
                                STATES[s].into(),
                                OrgId::parse(ACCOUNTS[a]).unwrap(),
                                value,
                                expires_at,
                                now,
                            );
                            model.0.insert(
                                STATES[s].into(),
                                Held { account: ACCOUNTS[a], value, expires_at, live: true },
                            );
                        }
                        Op::Claim(s, a) => {
                            let a = a.map(|a| ACCOUNTS[a]);
                            prop_assert_eq!(
                                store.claim(STATES[s], a, now),
                                model.claim(STATES[s], a, now),
                                "claim {} {:?} at {:?}", STATES[s], a, now
                            );
                        }
                        Op::Peek(s, a) => {
                            let want = model
                                .get(STATES[s], now)
                                .filter(|h| h.account == ACCOUNTS[a])
                                .map(|h| h.value);
                            prop_assert_eq!(store.peek(STATES[s], ACCOUNTS[a], now), want);
                        }
                        Op::Advance(secs) => now = now + Duration::from_secs(secs),
                    }
                }
                // What the store holds is what the model still remembers
                // (once the store has swept at `now`).
                store.claim("none", None, now).unwrap_err();
                let remembered = model
                    .0
                    .values()
                    .filter(|h| now < h.expires_at + Duration::from_secs(REMEMBER_SECS))
                    .count();
                let inner = store.lock();
                prop_assert_eq!(inner.live.len() + inner.spent.len(), remembered);
                // Nothing expired is kept whole.
                prop_assert!(inner.live.values().all(|l| l.expires_at > now));
            }
        }
    }
}
