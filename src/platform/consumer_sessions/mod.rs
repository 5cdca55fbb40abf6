//! Consumer sessions of authenticated conversations (Consumer
//! Pre-Authentication, source documents 003 and 004).
//!
//! The consumer signs in on the brand's side before the conversation: the
//! brand's page obtains an authorization code at the brand's IdP and hands
//! it to the platform ([`http::start`]). The platform exchanges it server to
//! server with the organisation's provider and keeps the access, ID and
//! refresh tokens under the consumer id (the ID token's `sub`) for as long
//! as the consumer session lives
//! ([`PlatformOptions::consumer_session_ttl_secs`](crate::platform::PlatformOptions)
//! on the shared clock), or until it is ended ([`http::end`]), replaced by
//! a new sign-in of the same consumer, or ended with every session of its
//! organisation (whose Consumer Pre-Authentication credential is gone).
//! Then the tokens are purged, never refreshed again, and revoked at the
//! IdP, best effort and without holding anything up ([`revocation`]). A
//! lifetime that has passed is noticed lazily, on the shared clock: by the
//! next look-up of the session or its handle, or by the sweep each sign-in
//! makes; the tokens are revoked then.
//!
//! While the session lives, an expired access token is refreshed with the
//! refresh token, once for any number of concurrent users of the session
//! (single flight: the first caller refreshes, the others wait for its
//! result), and a rotated refresh token replaces the old one. A refused
//! refresh ends the session: the consumer must sign in again on the
//! brand's side.
//!
//! The refresh token never leaves this module: integrations get the access
//! token, the Get Tokens API ([`crate::platform::tokens_api`]) the access
//! and ID tokens.
//!
//! Each session has a handle ([`handle`]), answered once when it starts:
//! the brand's messaging client presents it to open the consumer's
//! conversation, and only a conversation opened with a live session's
//! handle is authenticated, for that consumer and that session
//! ([`ConsumerSessions::authenticate`] answers an [`Authenticated`]). The
//! conversation gets tokens from that session only
//! ([`ConsumerSessions::current_for`]): once it has ended, the
//! conversation never gets tokens again, even when the same consumer signs
//! in anew; the new sign-in's handle opens new conversations. A new
//! sign-in of the same consumer replaces the session and its handle; an
//! ended or expired session's handle opens nothing.
//!
//! Sessions are bounded by their lifetime and by a count
//! ([`DEFAULT_MAX_SESSIONS`],
//! [`PlatformOptions::max_consumer_sessions`](crate::platform::PlatformOptions)):
//! a sign-in at the cap first forgets the sessions past their end, and if
//! that is not enough ends the session closest to its end (its tokens are
//! revoked like those of any ended session; that consumer signs in again).
//! Sessions past their end are swept at most once per second of the clock
//! by sign-ins, so a steady stream of them costs no scan each.
//!
//! One std `Mutex` guards the map and is never held across an `.await`;
//! the refresh is the platform's one single flight
//! ([`crate::platform::oauth::single_flight`]), keyed by organisation and
//! consumer, held across the refresh request only.

pub mod handle;
pub mod http;
pub mod revocation;

use std::collections::HashMap;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use tracing::instrument;

use super::PlatformState;
use super::credentials::Kind;
use super::oauth::held_token::{HeldToken, Margin};
use super::oauth::pre_auth::SignedIn;
use super::oauth::single_flight::SingleFlight;
use super::org::OrgId;
use crate::clock::Instant;
use crate::secret::Secret;
use handle::{HandleDigest, SessionHandle};
use revocation::{Ended, Revoker};

/// A consumer id: the `sub` of the consumer's ID token, as it appears in
/// `/api/account/{account}/consumer/{consumerId}/...` (percent-decoded).
///
/// 1 to 255 characters (OpenID Connect Core 1.0 section 2 caps `sub` at
/// 255 ASCII characters) of `A-Z a-z 0-9` and `- . _ ~ : @ | +`, and not
/// made of dots only (`.` and `..` are path steps, not names). Anything
/// else is refused with 400 before any lookup.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ConsumerId(String);

impl ConsumerId {
    /// The longest consumer id.
    pub const MAX_LEN: usize = 255;

    pub fn parse(text: &str) -> Result<Self, String> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~:@|+".contains(c);
        if text.is_empty() || text.len() > Self::MAX_LEN {
            return Err(format!(
                "a consumer id is 1 to {} characters",
                Self::MAX_LEN
            ));
        }
        if !text.chars().all(allowed) {
            return Err(
                "a consumer id is made of A-Z, a-z, 0-9 and - . _ ~ : @ | + only".to_string(),
            );
        }
        if text.chars().all(|c| c == '.') {
            return Err("a consumer id is not made of dots only".to_string());
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConsumerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One consumer session, as distinct from the one that replaces it when the
/// consumer signs in again. Opaque; never reused within a platform's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SessionId(u64);

#[cfg(test)]
impl SessionId {
    /// A session id for a test that needs one without a session table.
    pub(crate) fn numbered(n: u64) -> Self {
        Self(n)
    }
}

/// What a conversation opened with a live session's handle is
/// authenticated as: the session's consumer, and the session itself,
/// whose tokens alone the conversation may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    pub consumer: ConsumerId,
    pub session: SessionId,
}

/// The tokens of a live session as they may leave it: no refresh token.
#[derive(Clone, Debug)]
pub struct CurrentTokens {
    pub access_token: Secret,
    /// On the shared clock; `None` when the token endpoint gave no
    /// `expires_in` (then only a 401 from the brand API ends it).
    pub expires_at: Option<Instant>,
    pub id_token: Secret,
}

/// Why a consumer's tokens cannot be had now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// No session: never started, ended, past its lifetime, or the
    /// organisation no longer has a Consumer Pre-Authentication credential;
    /// or, for a conversation, the session that opened it has ended (a
    /// newer one of the same consumer does not count).
    NoSession,
    /// The refresh was refused (or its ID token was not acceptable): the
    /// session has ended, the consumer must sign in again.
    SignInAgain,
    /// The token endpoint could not be reached or failed; the session is
    /// kept, a later call tries again.
    Temporarily,
}

/// Everything kept for one consumer.
#[derive(Debug)]
struct Session {
    /// Distinguishes a session from the one that replaced it.
    serial: u64,
    /// The SHA-256 of the session's handle.
    handle: HandleDigest,
    ends_at: Instant,
    /// The access and refresh tokens, in the platform's one held-token type.
    token: HeldToken,
    id_token: Secret,
}

impl Session {
    fn current(&self) -> CurrentTokens {
        CurrentTokens {
            access_token: self.token.access_token.clone(),
            expires_at: self.token.expires_at,
            id_token: self.id_token.clone(),
        }
    }

    fn access_valid(&self, now: Instant) -> bool {
        self.token.usable(now, Margin::None)
    }

    /// What revocation needs of a session that has ended.
    fn ended(self, (org, consumer): &Key) -> Ended {
        Ended {
            org: org.clone(),
            consumer: consumer.clone(),
            access_token: self.token.access_token,
            refresh_token: self.token.refresh_token,
        }
    }
}

/// What a look-up found.
enum Found {
    Fresh(CurrentTokens),
    Stale { serial: u64 },
    None,
}

/// What to do once the consumer's flight is held.
enum Next {
    Done(Result<CurrentTokens, Unavailable>),
    Again,
    Refresh(Secret),
}

type Key = (OrgId, ConsumerId);

/// Consumer sessions kept at most, unless the platform says otherwise.
pub const DEFAULT_MAX_SESSIONS: usize = 100_000;

/// The sessions by organisation and consumer id, and by the digest of
/// their handle; every change goes through these methods, so the two maps
/// always agree, and every session they drop is kept in `ended` until the
/// lock is released ([`Guard`]), for revocation.
#[derive(Default)]
struct Table {
    sessions: HashMap<Key, Session>,
    handles: HashMap<HandleDigest, Key>,
    ended: Vec<Ended>,
    /// The clock second of the last sweep by a sign-in.
    swept_at: Option<Instant>,
}

impl Table {
    fn len(&self) -> usize {
        self.sessions.len()
    }

    fn get(&self, key: &Key) -> Option<&Session> {
        self.sessions.get(key)
    }

    fn get_mut(&mut self, key: &Key) -> Option<&mut Session> {
        self.sessions.get_mut(key)
    }

    fn iter(&self) -> impl Iterator<Item = (&Key, &Session)> {
        self.sessions.iter()
    }

    /// Insert `session`; the session it replaces, and its handle, are gone.
    fn insert(&mut self, key: Key, session: Session) {
        self.handles.insert(session.handle, key.clone());
        if let Some(old) = self.sessions.insert(key.clone(), session) {
            self.handles.remove(&old.handle);
            self.ended.push(old.ended(&key));
        }
    }

    /// Remove the session of `key`; says when it was to end.
    fn remove(&mut self, key: &Key) -> Option<Instant> {
        let old = self.sessions.remove(key)?;
        self.handles.remove(&old.handle);
        let ends_at = old.ends_at;
        self.ended.push(old.ended(key));
        Some(ends_at)
    }

    fn retain(&mut self, mut keep: impl FnMut(&Key, &Session) -> bool) {
        let gone: Vec<Key> = self
            .sessions
            .iter()
            .filter(|(k, s)| !keep(k, s))
            .map(|(k, _)| k.clone())
            .collect();
        for key in gone {
            self.remove(&key);
        }
    }

    /// Forget every session past its end at `now`.
    fn sweep(&mut self, now: Instant) {
        self.retain(|_, s| now < s.ends_at);
        self.swept_at = Some(now);
    }

    /// Make room for the session of `key` under `max` sessions: sweep
    /// (once per clock second unless at the cap), then end the session
    /// closest to its end while still at the cap.
    fn make_room(&mut self, key: &Key, max: usize, now: Instant) {
        if self.swept_at != Some(now) {
            self.sweep(now);
        }
        if self.sessions.contains_key(key) {
            return;
        }
        while self.len() >= max.max(1) {
            let first = self
                .sessions
                .iter()
                .min_by_key(|(_, s)| s.ends_at)
                .map(|(k, _)| k.clone());
            match first {
                Some(k) => {
                    self.remove(&k);
                }
                None => break,
            }
        }
    }

    /// The key of the session whose handle has `digest`.
    fn by_handle(&self, digest: &HandleDigest) -> Option<&Key> {
        self.handles.get(digest)
    }
}

/// The session table, locked; when the lock is released, the sessions it
/// dropped meanwhile go to revocation (which only spawns, so nothing
/// waits under the lock). No way of ending a session can skip it.
struct Guard<'a> {
    table: MutexGuard<'a, Table>,
    revoker: &'a Revoker,
}

impl Deref for Guard<'_> {
    type Target = Table;

    fn deref(&self) -> &Table {
        &self.table
    }
}

impl DerefMut for Guard<'_> {
    fn deref_mut(&mut self) -> &mut Table {
        &mut self.table
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        let ended = std::mem::take(&mut self.table.ended);
        self.revoker.revoke(ended);
    }
}

/// Every live consumer session of the platform, by organisation and
/// consumer id. The default revokes nothing when a session ends; the
/// platform's is built with [`ConsumerSessions::new`].
#[derive(Clone)]
pub struct ConsumerSessions {
    inner: Arc<Mutex<Table>>,
    serials: Arc<AtomicU64>,
    revoker: Revoker,
    /// One refresh at a time per consumer.
    flights: SingleFlight<Key>,
    /// Sessions kept at most.
    max: usize,
}

impl Default for ConsumerSessions {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            serials: Arc::default(),
            revoker: Revoker::default(),
            flights: SingleFlight::default(),
            max: DEFAULT_MAX_SESSIONS,
        }
    }
}

impl fmt::Debug for ConsumerSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerSessions")
            .field("sessions", &self.lock().len())
            .finish()
    }
}

impl ConsumerSessions {
    /// No sessions yet; the tokens of those that end go to `revoker`.
    pub fn new(revoker: Revoker) -> Self {
        Self {
            revoker,
            ..Self::default()
        }
    }

    /// At most `max` sessions from now on.
    pub fn with_max(self, max: usize) -> Self {
        Self { max, ..self }
    }

    /// Live sessions held (some may be past their end, not yet swept).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Wait until the IdP has answered (or not, within the timeout) every
    /// revocation of an ended session started so far.
    pub async fn revocations_settled(&self) {
        self.revoker.settled().await;
    }

    fn lock(&self) -> Guard<'_> {
        Guard {
            table: self.inner.lock().unwrap_or_else(|e| e.into_inner()),
            revoker: &self.revoker,
        }
    }

    /// Start (or replace) the session of `consumer` with the tokens of a
    /// sign-in; it lives until `ends_at`. Returns the new session's handle
    /// (the replaced session's handle opens nothing any more, and the
    /// conversations it opened get no tokens). Sessions past their end are
    /// forgotten on the way, and at the cap the one closest to its end.
    pub fn start(
        &self,
        org: &OrgId,
        consumer: &ConsumerId,
        signed_in: SignedIn,
        now: Instant,
        ends_at: Instant,
    ) -> SessionHandle {
        let (handle, digest) = SessionHandle::generate();
        let mut token = HeldToken::new(
            signed_in.access_token,
            signed_in.expires_in.map(|d| d.as_secs()),
            now,
        );
        token.refresh_token = signed_in.refresh_token;
        let session = Session {
            serial: self.serials.fetch_add(1, Ordering::Relaxed),
            handle: digest,
            ends_at,
            token,
            id_token: signed_in.id_token,
        };
        let key = (org.clone(), consumer.clone());
        let mut map = self.lock();
        map.make_room(&key, self.max, now);
        map.insert(key, session);
        handle
    }

    /// The consumer and session of `org` whose handle is `presented`, or
    /// `None` for a handle that is unknown, of an ended or expired
    /// session, or of another organisation's (the caller cannot tell
    /// which). An organisation without a Consumer Pre-Authentication
    /// credential has no sessions.
    pub fn authenticate(
        &self,
        state: &PlatformState,
        org: &OrgId,
        presented: &str,
    ) -> Option<Authenticated> {
        let has_credential = state
            .vault
            .find(org, |k| matches!(k, Kind::ConsumerPreAuthentication(_)))
            .is_some();
        if !has_credential {
            self.end_all(org);
            return None;
        }
        self.resolve(org, presented, state.clock.now())
    }

    /// [`Self::authenticate`] without the credential check.
    fn resolve(&self, org: &OrgId, presented: &str, now: Instant) -> Option<Authenticated> {
        let digest = HandleDigest::of_presented(presented)?;
        let mut map = self.lock();
        let key = map.by_handle(&digest)?.clone();
        let serial = match map.get(&key) {
            Some(s) if now < s.ends_at => s.serial,
            _ => {
                map.remove(&key);
                return None;
            }
        };
        let (session_org, consumer) = key;
        (session_org == *org).then_some(Authenticated {
            consumer,
            session: SessionId(serial),
        })
    }

    /// End the session of `consumer`: its tokens are purged and revoked.
    /// False if it had none (or it had already ended).
    pub fn end(&self, org: &OrgId, consumer: &ConsumerId, now: Instant) -> bool {
        self.lock()
            .remove(&(org.clone(), consumer.clone()))
            .is_some_and(|ends_at| now < ends_at)
    }

    /// End every session of `org` (its credential is gone); their tokens
    /// are revoked.
    pub fn end_all(&self, org: &OrgId) {
        self.lock().retain(|(o, _), _| o != org);
    }

    /// The consumers of `org` with a live session, sorted. Sessions past
    /// their end are forgotten on the way.
    pub fn consumers(&self, org: &OrgId, now: Instant) -> Vec<ConsumerId> {
        let mut map = self.lock();
        map.sweep(now);
        let mut out: Vec<ConsumerId> = map
            .iter()
            .filter(|((o, _), s)| o == org && now < s.ends_at)
            .map(|((_, c), _)| c.clone())
            .collect();
        out.sort();
        out
    }

    /// When the session of `consumer` ends, if it is live.
    pub fn ends_at(&self, org: &OrgId, consumer: &ConsumerId, now: Instant) -> Option<Instant> {
        self.lock()
            .get(&(org.clone(), consumer.clone()))
            .map(|s| s.ends_at)
            .filter(|e| now < *e)
    }

    /// The brand API refused the access token of the session `signed_in`
    /// names: treat it as expired, so the next use refreshes it (nothing
    /// changes if that session has been replaced).
    pub fn access_refused(&self, org: &OrgId, signed_in: &Authenticated) {
        let key = (org.clone(), signed_in.consumer.clone());
        if let Some(s) = self
            .lock()
            .get_mut(&key)
            .filter(|s| s.serial == signed_in.session.0)
        {
            s.token.expires_at = Some(Instant::MIN);
        }
    }

    /// The live session of `key` (the session `only`, if given).
    fn find(&self, key: &Key, only: Option<u64>, now: Instant) -> Found {
        let mut map = self.lock();
        let Some(s) = map.get(key) else {
            return Found::None;
        };
        if now >= s.ends_at {
            map.remove(key);
            return Found::None;
        }
        if only.is_some_and(|serial| serial != s.serial) {
            return Found::None;
        }
        if s.access_valid(now) {
            Found::Fresh(s.current())
        } else {
            Found::Stale { serial: s.serial }
        }
    }

    /// Remove the session `serial` of `key` (not one that replaced it).
    fn remove_if(&self, key: &Key, serial: u64) {
        let mut map = self.lock();
        if map.get(key).is_some_and(|s| s.serial == serial) {
            map.remove(key);
        }
    }

    /// The current tokens of `consumer`'s live session, whichever it is,
    /// refreshed first if the access token has expired. Of concurrent
    /// callers finding it expired, one sends the refresh request and the
    /// others get its result.
    #[instrument(skip_all, fields(org = %org))]
    pub async fn current(
        &self,
        state: &PlatformState,
        org: &OrgId,
        consumer: &ConsumerId,
    ) -> Result<CurrentTokens, Unavailable> {
        self.tokens(state, org, consumer, None).await
    }

    /// [`Self::current`] for a conversation: the tokens of the very session
    /// that opened it, and none once that session has ended, even if the
    /// consumer has signed in again since.
    #[instrument(skip_all, fields(org = %org))]
    pub async fn current_for(
        &self,
        state: &PlatformState,
        org: &OrgId,
        signed_in: &Authenticated,
    ) -> Result<CurrentTokens, Unavailable> {
        self.tokens(state, org, &signed_in.consumer, Some(signed_in.session.0))
            .await
    }

    /// The tokens of `consumer`'s live session (the session `only`, if
    /// given), refreshed first if need be.
    async fn tokens(
        &self,
        state: &PlatformState,
        org: &OrgId,
        consumer: &ConsumerId,
        only: Option<u64>,
    ) -> Result<CurrentTokens, Unavailable> {
        let has_credential = state
            .vault
            .find(org, |k| matches!(k, Kind::ConsumerPreAuthentication(_)))
            .is_some();
        if !has_credential {
            self.end_all(org);
            return Err(Unavailable::NoSession);
        }
        let key = (org.clone(), consumer.clone());
        let serial = match self.find(&key, only, state.clock.now()) {
            Found::Fresh(tokens) => return Ok(tokens),
            Found::None => return Err(Unavailable::NoSession),
            Found::Stale { serial } => serial,
        };
        let flight = self.flights.enter(key.clone()).await;
        // Whoever held the flight before may have refreshed already.
        let now = state.clock.now();
        let next = {
            let mut map = self.lock();
            match map.get(&key) {
                None => Next::Done(Err(Unavailable::NoSession)),
                Some(s) if now >= s.ends_at => {
                    map.remove(&key);
                    Next::Done(Err(Unavailable::NoSession))
                }
                // Replaced by a new sign-in meanwhile: a conversation bound
                // to the old session gets nothing from the new one.
                Some(s) if only.is_some() && s.serial != serial => {
                    Next::Done(Err(Unavailable::NoSession))
                }
                Some(s) if s.access_valid(now) => Next::Done(Ok(s.current())),
                // Replaced by a new sign-in whose token has expired too:
                // look again, as that session's caller.
                Some(s) if s.serial != serial => Next::Again,
                Some(s) => match &s.token.refresh_token {
                    Some(r) => Next::Refresh(r.clone()),
                    None => {
                        map.remove(&key);
                        tracing::info!(
                            "consumer session ended: expired access token and no refresh token"
                        );
                        Next::Done(Err(Unavailable::SignInAgain))
                    }
                },
            }
        };
        let refresh_token = match next {
            Next::Done(result) => return result,
            Next::Again => {
                drop(flight);
                return Box::pin(self.tokens(state, org, consumer, only)).await;
            }
            Next::Refresh(token) => token,
        };
        let Some(provider) = state.org(org.as_str()).map(|o| o.provider) else {
            return Err(Unavailable::NoSession);
        };
        let refreshed = state
            .oauth
            .refresh_consumer(&provider, &refresh_token, consumer.as_str(), &state.clock)
            .await;
        drop(refresh_token);
        let now = state.clock.now();
        match refreshed {
            Ok(r) => {
                let mut map = self.lock();
                let Some(s) = map
                    .get_mut(&key)
                    .filter(|s| s.serial == serial && now < s.ends_at)
                else {
                    // Ended (or replaced) while the refresh ran: keep
                    // nothing, and revoke what the refresh gave.
                    map.ended.push(Ended {
                        org: org.clone(),
                        consumer: consumer.clone(),
                        access_token: r.access_token,
                        refresh_token: r.refresh_token,
                    });
                    return Err(Unavailable::NoSession);
                };
                // The rotated refresh token, or the one kept so far.
                let refresh = r.refresh_token.or_else(|| s.token.refresh_token.take());
                s.token = HeldToken::new(r.access_token, r.expires_in.map(|d| d.as_secs()), now);
                s.token.refresh_token = refresh;
                if let Some(id) = r.id_token {
                    s.id_token = id;
                }
                tracing::info!("consumer access token refreshed");
                Ok(s.current())
            }
            Err(e) if e.transient() => {
                tracing::warn!(error = %e, "consumer token refresh failed; session kept");
                Err(Unavailable::Temporarily)
            }
            Err(e) => {
                tracing::info!(error = %e, "consumer token refresh refused; session ended");
                self.remove_if(&key, serial);
                Err(Unavailable::SignInAgain)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> crate::clock::Instant {
        crate::clock::Instant::from_unix_secs(secs)
    }
    use std::time::Duration;

    fn signed_in(at: &str, ttl: Option<u64>) -> SignedIn {
        SignedIn {
            subject: "alice".into(),
            access_token: Secret::new(at),
            expires_in: ttl.map(Duration::from_secs),
            id_token: Secret::new("id"),
            refresh_token: Some(Secret::new("rt")),
        }
    }

    fn consumer(a: Option<Authenticated>) -> Option<ConsumerId> {
        a.map(|a| a.consumer)
    }

    #[test]
    fn consumer_ids_have_a_defined_syntax() {
        for ok in [
            "c0ffee00-a11c-4e00-8000-000000000001",
            "auth0|123",
            "a.b@c:d~e_f+g",
            "x",
        ] {
            assert!(ConsumerId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a b",
            "a/b",
            "a%2Fb",
            "é",
            "a\nb",
            &"x".repeat(256),
        ] {
            assert!(ConsumerId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ConsumerId::parse(&"x".repeat(255)).is_ok());
    }

    #[test]
    fn sessions_end_by_lifetime_or_on_request_and_are_per_organisation() {
        let sessions = ConsumerSessions::default();
        let demo = OrgId::parse("demo").unwrap();
        let other = OrgId::parse("other").unwrap();
        let alice = ConsumerId::parse("alice").unwrap();
        sessions.start(&demo, &alice, signed_in("at-1", Some(300)), at(0), at(100));
        assert!(
            matches!(sessions.find(&(demo.clone(), alice.clone()), None, at(10)), Found::Fresh(t) if t.access_token.expose() == "at-1")
        );
        assert!(matches!(
            sessions.find(&(other.clone(), alice.clone()), None, at(10)),
            Found::None
        ));
        assert_eq!(sessions.consumers(&demo, at(99)), vec![alice.clone()]);
        assert!(matches!(
            sessions.find(&(demo.clone(), alice.clone()), None, at(100)),
            Found::None
        ));
        assert!(
            sessions.consumers(&demo, at(0)).is_empty(),
            "purged at its end"
        );
        assert!(!sessions.end(&demo, &alice, at(0)));

        sessions.start(&demo, &alice, signed_in("at-2", Some(50)), at(0), at(100));
        assert!(matches!(
            sessions.find(&(demo.clone(), alice.clone()), None, at(50)),
            Found::Stale { .. }
        ));
        assert!(sessions.end(&demo, &alice, at(60)));
        assert!(matches!(
            sessions.find(&(demo.clone(), alice.clone()), None, at(60)),
            Found::None
        ));
        let debug = format!("{sessions:?}");
        assert!(!debug.contains("at-2"), "{debug}");
    }

    #[test]
    fn at_the_cap_a_sign_in_ends_the_session_closest_to_its_end() {
        let (revoker, revoked) = Revoker::recording();
        let sessions = ConsumerSessions::new(revoker).with_max(2);
        let demo = OrgId::parse("demo").unwrap();
        let [a, b, c] = ["a", "b", "c"].map(|c| ConsumerId::parse(c).unwrap());
        sessions.start(&demo, &a, signed_in("at-a", None), at(0), at(300));
        sessions.start(&demo, &b, signed_in("at-b", None), at(0), at(200));
        // A new sign-in of a consumer with a session replaces it: no room needed.
        sessions.start(&demo, &a, signed_in("at-a2", None), at(1), at(400));
        assert_eq!(sessions.len(), 2);
        sessions.start(&demo, &c, signed_in("at-c", None), at(2), at(500));
        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions.ends_at(&demo, &b, at(2)), None, "b ended first");
        assert_eq!(sessions.ends_at(&demo, &a, at(2)), Some(at(400)));
        assert_eq!(sessions.ends_at(&demo, &c, at(2)), Some(at(500)));
        let revoked: Vec<String> = revoked
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.access_token.expose().to_string())
            .collect();
        assert_eq!(revoked, ["at-a", "at-b"], "replaced, then evicted");
    }

    #[test]
    fn a_handle_resolves_to_its_live_session_of_its_organisation_only() {
        let sessions = ConsumerSessions::default();
        let demo = OrgId::parse("demo").unwrap();
        let other = OrgId::parse("other").unwrap();
        let alice = ConsumerId::parse("alice").unwrap();
        let bob = ConsumerId::parse("bob").unwrap();
        let a = sessions.start(&demo, &alice, signed_in("at-a", Some(300)), at(0), at(100));
        let b = sessions.start(&demo, &bob, signed_in("at-b", Some(300)), at(0), at(100));
        assert_eq!(
            consumer(sessions.resolve(&demo, a.expose(), at(10))),
            Some(alice.clone())
        );
        assert_eq!(
            consumer(sessions.resolve(&demo, b.expose(), at(10))),
            Some(bob.clone())
        );
        assert_eq!(sessions.resolve(&other, a.expose(), at(10)), None);
        assert_eq!(sessions.resolve(&demo, "not-a-handle", at(10)), None);
        let (never, _) = SessionHandle::generate();
        assert_eq!(sessions.resolve(&demo, never.expose(), at(10)), None);

        // A new sign-in replaces the session and its handle.
        let a2 = sessions.start(
            &demo,
            &alice,
            signed_in("at-a2", Some(300)),
            at(20),
            at(120),
        );
        assert_eq!(sessions.resolve(&demo, a.expose(), at(20)), None);
        assert_eq!(
            consumer(sessions.resolve(&demo, a2.expose(), at(20))),
            Some(alice.clone())
        );

        // Ended on request, or past its end.
        assert!(sessions.end(&demo, &alice, at(30)));
        assert_eq!(sessions.resolve(&demo, a2.expose(), at(30)), None);
        assert_eq!(sessions.resolve(&demo, b.expose(), at(100)), None);
        assert!(
            sessions.lock().handles.is_empty(),
            "no handle outlives its session"
        );
        assert!(sessions.lock().sessions.is_empty());
    }

    #[test]
    fn ending_every_session_of_an_organisation_forgets_their_handles() {
        let sessions = ConsumerSessions::default();
        let demo = OrgId::parse("demo").unwrap();
        let other = OrgId::parse("other").unwrap();
        let alice = ConsumerId::parse("alice").unwrap();
        let a = sessions.start(&demo, &alice, signed_in("at", None), at(0), at(100));
        let o = sessions.start(&other, &alice, signed_in("at", None), at(0), at(100));
        sessions.end_all(&demo);
        assert_eq!(sessions.resolve(&demo, a.expose(), at(1)), None);
        assert_eq!(
            consumer(sessions.resolve(&other, o.expose(), at(1))),
            Some(alice)
        );
        assert_eq!(sessions.lock().handles.len(), 1);
    }

    #[test]
    fn a_refused_access_token_counts_as_expired() {
        let sessions = ConsumerSessions::default();
        let demo = OrgId::parse("demo").unwrap();
        let alice = ConsumerId::parse("alice").unwrap();
        let handle = sessions.start(&demo, &alice, signed_in("at", None), at(0), at(100));
        assert!(matches!(
            sessions.find(&(demo.clone(), alice.clone()), None, at(99)),
            Found::Fresh(_)
        ));
        let signed_in_as = sessions.resolve(&demo, handle.expose(), at(1)).unwrap();
        sessions.access_refused(&demo, &signed_in_as);
        assert!(matches!(
            sessions.find(&(demo.clone(), alice.clone()), None, at(1)),
            Found::Stale { .. }
        ));
    }

    #[test]
    fn a_conversations_session_is_the_one_that_opened_it() {
        let sessions = ConsumerSessions::default();
        let demo = OrgId::parse("demo").unwrap();
        let alice = ConsumerId::parse("alice").unwrap();
        let key = (demo.clone(), alice.clone());
        let first = sessions.start(&demo, &alice, signed_in("at-1", None), at(0), at(100));
        let opened = sessions.resolve(&demo, first.expose(), at(1)).unwrap();
        let only = Some(opened.session.0);
        assert!(
            matches!(sessions.find(&key, only, at(2)), Found::Fresh(t) if t.access_token.expose() == "at-1")
        );

        // The same consumer signs in again: the old conversation gets
        // nothing from the new session, which stays for the new one.
        let second = sessions.start(&demo, &alice, signed_in("at-2", None), at(3), at(100));
        let reopened = sessions.resolve(&demo, second.expose(), at(4)).unwrap();
        assert_ne!(opened.session, reopened.session);
        assert!(matches!(sessions.find(&key, only, at(5)), Found::None));
        assert!(matches!(
            sessions.find(&key, Some(reopened.session.0), at(5)),
            Found::Fresh(t) if t.access_token.expose() == "at-2"
        ));
        assert!(matches!(sessions.find(&key, None, at(5)), Found::Fresh(_)));

        // A 401 seen by the old conversation does not touch the new session.
        sessions.access_refused(&demo, &opened);
        assert!(matches!(sessions.find(&key, None, at(6)), Found::Fresh(_)));

        // Ended, then signed in anew: still nothing for the old ones.
        assert!(sessions.end(&demo, &alice, at(7)));
        sessions.start(&demo, &alice, signed_in("at-3", None), at(8), at(100));
        assert!(matches!(sessions.find(&key, only, at(9)), Found::None));
        assert!(matches!(
            sessions.find(&key, Some(reopened.session.0), at(9)),
            Found::None
        ));
    }

    #[test]
    fn every_way_a_session_ends_hands_its_tokens_to_revocation() {
        let (revoker, revoked) = Revoker::recording();
        let sessions = ConsumerSessions::new(revoker);
        let demo = OrgId::parse("demo").unwrap();
        let other = OrgId::parse("other").unwrap();
        let [alice, bob, carol] = ["alice", "bob", "carol"].map(|c| ConsumerId::parse(c).unwrap());
        let taken = || {
            let mut all: Vec<(String, String, Option<String>)> = revoked
                .lock()
                .unwrap()
                .drain(..)
                .map(|e| {
                    (
                        format!("{}/{}", e.org, e.consumer),
                        e.access_token.expose().to_string(),
                        e.refresh_token.map(|r| r.expose().to_string()),
                    )
                })
                .collect();
            all.sort();
            all
        };
        let rt = || Some("rt".to_string());

        // Ended on request.
        sessions.start(&demo, &alice, signed_in("at-a1", None), at(0), at(100));
        assert!(taken().is_empty(), "a live session is not revoked");
        assert!(sessions.end(&demo, &alice, at(1)));
        assert_eq!(taken(), [("demo/alice".into(), "at-a1".into(), rt())]);

        // Replaced by a new sign-in.
        sessions.start(&demo, &alice, signed_in("at-a2", None), at(2), at(100));
        sessions.start(&demo, &alice, signed_in("at-a3", None), at(3), at(100));
        assert_eq!(taken(), [("demo/alice".into(), "at-a2".into(), rt())]);

        // Past its lifetime, noticed by a look-up of the session...
        sessions.start(&demo, &bob, signed_in("at-b", None), at(3), at(10));
        assert!(matches!(
            sessions.find(&(demo.clone(), bob.clone()), None, at(10)),
            Found::None
        ));
        assert_eq!(taken(), [("demo/bob".into(), "at-b".into(), rt())]);
        // ... of its handle ...
        let h = sessions.start(&demo, &bob, signed_in("at-b2", None), at(11), at(20));
        assert_eq!(sessions.resolve(&demo, h.expose(), at(20)), None);
        assert_eq!(taken(), [("demo/bob".into(), "at-b2".into(), rt())]);
        // ... by the sweep of a sign-in, or of a listing.
        sessions.start(&demo, &bob, signed_in("at-b3", None), at(21), at(30));
        sessions.start(&other, &carol, signed_in("at-c", None), at(31), at(100));
        assert_eq!(taken(), [("demo/bob".into(), "at-b3".into(), rt())]);
        sessions.start(&demo, &bob, signed_in("at-b4", None), at(32), at(40));
        assert_eq!(sessions.consumers(&demo, at(40)), vec![alice.clone()]);
        assert_eq!(taken(), [("demo/bob".into(), "at-b4".into(), rt())]);

        // Every session of an organisation at once.
        sessions.end_all(&demo);
        assert_eq!(taken(), [("demo/alice".into(), "at-a3".into(), rt())]);
        assert_eq!(sessions.consumers(&other, at(41)), vec![carol]);
        assert!(taken().is_empty());
    }
}
