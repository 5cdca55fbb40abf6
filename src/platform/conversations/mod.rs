//! Conversations: transcript, event log and the per-conversation context.
//!
//! The context holds the consumer's access token and its expiry, and
//! nothing else: a refresh token is never stored (unauthenticated
//! conversations, source document 001). Another conversation, even of the
//! same consumer, never sees it; closing the conversation purges it.
//!
//! A conversation opened with the handle of a live consumer session
//! (Consumer Pre-Authentication, [`crate::platform::consumer_sessions`]) is
//! authenticated for that session's consumer: that, and never a bare
//! `consumer_id`, is what lets an integration use the consumer's tokens.
//! It is bound to that very session, not just to the consumer: once the
//! session has ended (or a new sign-in has replaced it), the conversation
//! gets no tokens again, even if the consumer signs in anew; the new
//! sign-in's handle opens a new conversation. The handle itself is not
//! kept.
//!
//! One std `Mutex` guards the map; it is never held across an `.await`
//! (every method takes and releases it), so a slow brand API call in one
//! conversation never blocks another.
//!
//! Nothing here grows without bound under a steady load of conversations
//! ([`ConversationLimits`], on the shared clock): an open conversation in
//! which nothing has happened for `idle_secs` is closed (its token
//! purged), a closed one stays readable for `closed_retain_secs` and is
//! then forgotten (404), and at most `max` are kept: opening one more
//! first forgets the closed conversation closed longest ago, else closes
//! and forgets the open one idle longest. The sweep runs when a
//! conversation is opened, at most once per second of the clock
//! ([`Conversations::sweep`]).

pub mod http;

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::consumer_sessions::Authenticated;
use super::events::{EventKind, EventLog};
use super::oauth::held_token::{HeldToken, Margin};
use super::org::OrgId;
use crate::clock::Instant;
use crate::secret::Secret;

/// A conversation's id: 128 random bits, base64url, issued by
/// [`Conversations::open`] and unguessable. Read from a path or a body as
/// any string: an id that was never issued simply names no conversation.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConversationId(String);

impl ConversationId {
    fn generate() -> Self {
        Self(crate::secret::random_token(16))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// As the text, like the string it replaced.
impl fmt::Debug for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ConversationId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for ConversationId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Who said a line of the transcript.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Consumer,
    Bot,
}

/// What the bot says: text, and the authentication link when it asks the
/// consumer to sign in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reply {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            link: None,
        }
    }
}

/// One line of the transcript.
#[derive(Clone, Debug, Serialize)]
pub struct Message {
    pub from: Party,
    pub at: Instant,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// The access token of a conversation: the platform's one held-token
/// type ([`HeldToken`]), never with a refresh token (source document 001);
/// its expiry is from `expires_in` on the shared clock, `None` when the
/// token endpoint gave none, and then only a 401 ends it.
pub type AccessToken = HeldToken;

/// One conversation.
#[derive(Debug)]
pub struct Conversation {
    pub id: ConversationId,
    pub org: OrgId,
    pub bot: String,
    /// The consumer the conversation is with: the authenticated one, or a
    /// label the opener gave (which proves nothing).
    pub consumer_id: Option<String>,
    /// The consumer and session this conversation is authenticated for.
    pub authenticated: Option<Authenticated>,
    pub closed: bool,
    pub transcript: Vec<Message>,
    pub events: EventLog,
    token: Option<AccessToken>,
    /// When something last happened in it (shared clock).
    last_active: Instant,
    /// When it was closed.
    closed_at: Option<Instant>,
}

impl Conversation {
    /// Close: the token goes, the transcript and events stay.
    fn close(&mut self, now: Instant) {
        if !self.closed {
            self.closed = true;
            self.closed_at = Some(now);
            self.token = None;
            self.events.push(now, EventKind::ConversationClosed);
        }
    }
}

/// How many conversations the platform keeps, and how long (seconds on the
/// shared clock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationLimits {
    /// An open conversation in which nothing has happened (no message, no
    /// event) for this long is closed, its token purged. Default a day.
    pub idle_secs: i64,
    /// A closed conversation's transcript and events stay readable this
    /// long, then it is forgotten. Default 60.
    pub closed_retain_secs: i64,
    /// Conversations kept at most, open and closed. Default 50,000.
    pub max: usize,
}

impl Default for ConversationLimits {
    fn default() -> Self {
        Self {
            idle_secs: 24 * 3600,
            closed_retain_secs: 60,
            max: 50_000,
        }
    }
}

/// What a flow needs to know about a conversation (no token).
#[derive(Clone, Debug)]
pub struct ConvInfo {
    pub id: ConversationId,
    pub org: OrgId,
    pub bot: String,
    pub consumer_id: Option<String>,
    /// Set only when the conversation was opened with a live consumer
    /// session's handle: the consumer, and the session whose tokens (and
    /// no other's) it may use.
    pub authenticated: Option<Authenticated>,
    pub closed: bool,
}

/// Whether the context has a token to use.
pub enum TokenCheck {
    Valid(Secret),
    /// There was one; its expiry has passed (it is now purged).
    Expired,
    Absent,
}

/// What the context holds, as `GET /api/conversations/{id}/context` shows
/// it: presence and expiry, never a value.
#[derive(Clone, Debug, Serialize)]
pub struct ContextView {
    pub access_token_present: bool,
    pub access_token_expires_at: Option<Instant>,
    /// Always false: there is nowhere to keep one.
    pub refresh_token_present: bool,
}

/// Every conversation of the platform.
#[derive(Clone)]
pub struct Conversations {
    inner: Arc<Mutex<HashMap<ConversationId, Conversation>>>,
    /// The id of each conversation whose transcript changed, for pages
    /// that follow it (`GET /chat/{id}/updates`). A follower that lags
    /// misses ids, and reads the transcript afresh on the next one.
    changes: tokio::sync::broadcast::Sender<ConversationId>,
    limits: Arc<ConversationLimits>,
    /// The clock second of the last sweep.
    swept_at: Arc<AtomicI64>,
}

impl Default for Conversations {
    fn default() -> Self {
        Self::new(ConversationLimits::default())
    }
}

impl Conversations {
    pub fn new(limits: ConversationLimits) -> Self {
        Self {
            inner: Arc::default(),
            changes: tokio::sync::broadcast::channel(1024).0,
            limits: Arc::new(limits),
            swept_at: Arc::new(AtomicI64::new(i64::MIN)),
        }
    }

    pub fn limits(&self) -> &ConversationLimits {
        &self.limits
    }

    /// Conversations kept, open and closed.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Close the conversations idle for `idle_secs`, forget those closed
    /// for `closed_retain_secs`. Returns how many were forgotten.
    pub fn sweep(&self, now: Instant) -> usize {
        self.swept_at.store(now.unix_secs(), Ordering::Relaxed);
        let mut closed = Vec::new();
        let forgotten = {
            let mut map = self.lock();
            for c in map.values_mut() {
                if !c.closed && now.secs_since(c.last_active) >= self.limits.idle_secs {
                    c.close(now);
                    closed.push(c.id.clone());
                }
            }
            let before = map.len();
            let keep = self.limits.closed_retain_secs;
            map.retain(|_, c| c.closed_at.is_none_or(|at| now.secs_since(at) < keep));
            before - map.len()
        };
        for id in closed {
            self.changed(&id);
        }
        forgotten
    }

    /// Make room for one more: forget the conversation closed longest
    /// ago, or else the open one idle longest (its token goes with it).
    /// A scan of the conversations, only at the cap.
    fn make_room(&self, map: &mut HashMap<ConversationId, Conversation>) {
        while map.len() >= self.limits.max.max(1) {
            let victim = map
                .values()
                .min_by_key(|c| (!c.closed, c.closed_at.unwrap_or(c.last_active)))
                .map(|c| c.id.clone());
            let Some(id) = victim else { break };
            map.remove(&id);
            self.changed(&id);
        }
    }

    /// Follow the transcript changes of every conversation (by id).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ConversationId> {
        self.changes.subscribe()
    }

    fn changed(&self, id: &ConversationId) {
        // Nobody following is not an error.
        let _ = self.changes.send(id.clone());
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ConversationId, Conversation>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Open a conversation; returns its id (unguessable). When it is
    /// `authenticated`, its consumer id is that consumer's.
    pub fn open(
        &self,
        org: OrgId,
        bot: String,
        consumer_id: Option<String>,
        authenticated: Option<Authenticated>,
        now: Instant,
    ) -> ConversationId {
        let consumer_id = match &authenticated {
            Some(a) => Some(a.consumer.as_str().to_string()),
            None => consumer_id,
        };
        if self.swept_at.load(Ordering::Relaxed) != now.unix_secs() {
            self.sweep(now);
        }
        let id = ConversationId::generate();
        let mut events = EventLog::default();
        events.push(now, EventKind::ConversationOpened);
        let mut map = self.lock();
        self.make_room(&mut map);
        map.insert(
            id.clone(),
            Conversation {
                id: id.clone(),
                org,
                bot,
                consumer_id,
                authenticated,
                closed: false,
                transcript: Vec::new(),
                events,
                token: None,
                last_active: now,
                closed_at: None,
            },
        );
        id
    }

    pub fn info(&self, id: &ConversationId) -> Option<ConvInfo> {
        self.lock().get(id).map(|c| ConvInfo {
            id: c.id.clone(),
            org: c.org.clone(),
            bot: c.bot.clone(),
            consumer_id: c.consumer_id.clone(),
            authenticated: c.authenticated.clone(),
            closed: c.closed,
        })
    }

    /// Read a conversation under the lock.
    pub fn read<R>(&self, id: &ConversationId, f: impl FnOnce(&Conversation) -> R) -> Option<R> {
        self.lock().get(id).map(f)
    }

    pub fn event(&self, id: &ConversationId, now: Instant, kind: EventKind) {
        if let Some(c) = self.lock().get_mut(id) {
            c.events.push(now, kind);
            c.last_active = c.last_active.max(now);
        }
        self.changed(id);
    }

    /// Append a consumer message.
    pub fn heard(&self, id: &ConversationId, now: Instant, text: &str) {
        if let Some(c) = self.lock().get_mut(id) {
            c.transcript.push(Message {
                from: Party::Consumer,
                at: now,
                text: text.to_string(),
                link: None,
            });
            c.events.push(now, EventKind::ConsumerMessage);
            c.last_active = c.last_active.max(now);
        }
        self.changed(id);
    }

    /// Append a bot message (not to a closed conversation).
    pub fn say(&self, id: &ConversationId, now: Instant, reply: &Reply) {
        if let Some(c) = self.lock().get_mut(id).filter(|c| !c.closed) {
            c.transcript.push(Message {
                from: Party::Bot,
                at: now,
                text: reply.text.clone(),
                link: reply.link.clone(),
            });
            c.last_active = c.last_active.max(now);
        }
        self.changed(id);
    }

    /// The token to use now, purging it if its expiry has passed.
    pub fn token(&self, id: &ConversationId, now: Instant) -> TokenCheck {
        let mut map = self.lock();
        let Some(c) = map.get_mut(id).filter(|c| !c.closed) else {
            return TokenCheck::Absent;
        };
        match &c.token {
            None => TokenCheck::Absent,
            Some(t) if !t.usable(now, Margin::None) => {
                c.token = None;
                TokenCheck::Expired
            }
            Some(t) => TokenCheck::Valid(t.access_token.clone()),
        }
    }

    /// Keep `token` in this conversation's context; false (and the token
    /// dropped) if the conversation is gone or closed.
    pub fn store_token(&self, id: &ConversationId, token: AccessToken) -> bool {
        match self.lock().get_mut(id).filter(|c| !c.closed) {
            Some(c) => {
                c.token = Some(token);
                true
            }
            None => false,
        }
    }

    pub fn drop_token(&self, id: &ConversationId) {
        if let Some(c) = self.lock().get_mut(id) {
            c.token = None;
        }
    }

    pub fn context(&self, id: &ConversationId) -> Option<ContextView> {
        self.read(id, |c| ContextView {
            access_token_present: c.token.is_some(),
            access_token_expires_at: c.token.as_ref().and_then(|t| t.expires_at),
            refresh_token_present: false,
        })
    }

    /// Close: the context is purged; transcript and events stay readable
    /// for [`ConversationLimits::closed_retain_secs`]. False for an
    /// unknown id.
    pub fn close(&self, id: &ConversationId, now: Instant) -> bool {
        match self.lock().get_mut(id) {
            Some(c) => {
                c.close(now);
                self.changed(id);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> crate::clock::Instant {
        crate::clock::Instant::from_unix_secs(secs)
    }
    use crate::platform::consumer_sessions::{ConsumerId, SessionId};

    #[test]
    fn tokens_expire_on_the_given_clock_and_closing_purges() {
        let convs = Conversations::default();
        let org = OrgId::parse("demo").unwrap();
        let a = convs.open(org.clone(), "bot".into(), Some("alice".into()), None, at(0));
        let b = convs.open(org, "bot".into(), Some("alice".into()), None, at(0));
        assert!(convs.store_token(&a, AccessToken::new(Secret::new("at-1"), Some(100), at(0))));
        assert!(matches!(convs.token(&b, at(50)), TokenCheck::Absent));
        assert!(matches!(convs.token(&a, at(99)), TokenCheck::Valid(t) if t.expose() == "at-1"));
        assert!(matches!(convs.token(&a, at(100)), TokenCheck::Expired));
        assert!(matches!(convs.token(&a, at(100)), TokenCheck::Absent));
        convs.store_token(&a, AccessToken::new(Secret::new("at-2"), None, at(0)));
        let debug = convs.read(&a, |c| format!("{c:?}")).unwrap();
        assert!(!debug.contains("at-2"), "{debug}");
        assert!(convs.close(&a, at(1)));
        assert!(matches!(convs.token(&a, at(1)), TokenCheck::Absent));
        assert!(!convs.context(&a).unwrap().access_token_present);
        assert!(!convs.store_token(&a, AccessToken::new(Secret::new("late"), None, at(0))));
    }

    fn limits(idle_secs: i64, closed_retain_secs: i64, max: usize) -> ConversationLimits {
        ConversationLimits {
            idle_secs,
            closed_retain_secs,
            max,
        }
    }

    fn open(convs: &Conversations, now: Instant) -> ConversationId {
        convs.open(OrgId::parse("demo").unwrap(), "bot".into(), None, None, now)
    }

    #[test]
    fn idle_conversations_close_and_closed_ones_are_forgotten_on_the_clock() {
        let convs = Conversations::new(limits(100, 50, 10));
        let quiet = open(&convs, at(0));
        let busy = open(&convs, at(0));
        assert!(convs.store_token(&quiet, AccessToken::new(Secret::new("t"), None, at(0))));
        convs.heard(&busy, at(90), "still here");
        convs.sweep(at(99));
        assert!(!convs.info(&quiet).unwrap().closed);
        convs.sweep(at(100));
        assert!(convs.info(&quiet).unwrap().closed, "idle for 100 s");
        assert!(!convs.context(&quiet).unwrap().access_token_present);
        assert!(!convs.info(&busy).unwrap().closed);
        // Closed at 100: readable until 150.
        convs.sweep(at(149));
        assert!(convs.read(&quiet, |c| c.transcript.len()).is_some());
        convs.sweep(at(150));
        assert!(convs.info(&quiet).is_none());
        assert!(convs.info(&busy).is_some());
        assert_eq!(convs.len(), 1);
    }

    #[test]
    fn opening_sweeps_once_per_second() {
        let convs = Conversations::new(limits(100, 0, 10));
        let a = open(&convs, at(0));
        convs.close(&a, at(5));
        assert_eq!(convs.len(), 1, "closing forgets nothing by itself");
        open(&convs, at(6));
        assert!(convs.info(&a).is_none(), "the next open swept it");
    }

    #[test]
    fn at_the_cap_closed_conversations_go_first_then_the_idle_longest() {
        let convs = Conversations::new(limits(1000, 1000, 3));
        let old_open = open(&convs, at(0));
        let closed = open(&convs, at(1));
        let recent = open(&convs, at(2));
        convs.close(&closed, at(3));
        convs.heard(&old_open, at(4), "hello");
        let fourth = open(&convs, at(5));
        assert!(convs.info(&closed).is_none());
        assert_eq!(convs.len(), 3);
        let fifth = open(&convs, at(6));
        assert!(convs.info(&recent).is_none(), "idle since 2");
        for id in [&old_open, &fourth, &fifth] {
            assert!(convs.info(id).is_some());
        }
    }

    #[test]
    fn an_authenticated_conversation_is_that_consumers() {
        let convs = Conversations::default();
        let org = OrgId::parse("demo").unwrap();
        let alice = Authenticated {
            consumer: ConsumerId::parse("alice").unwrap(),
            session: SessionId::numbered(7),
        };
        let labelled = convs.open(org.clone(), "bot".into(), Some("alice".into()), None, at(0));
        let signed_in = convs.open(org, "bot".into(), None, Some(alice.clone()), at(0));
        let info = convs.info(&labelled).unwrap();
        assert_eq!(info.consumer_id.as_deref(), Some("alice"));
        assert_eq!(info.authenticated, None);
        let info = convs.info(&signed_in).unwrap();
        assert_eq!(info.consumer_id.as_deref(), Some("alice"));
        assert_eq!(info.authenticated, Some(alice));
    }
}
