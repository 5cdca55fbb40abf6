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
//!
//! Nor does one conversation grow without bound under a steady stream of
//! messages: its transcript keeps the newest `max_messages` messages and
//! its event log the newest `max_events` events, each counting the
//! earlier ones it dropped ([`Capped`]); a consumer message is at most
//! [`MAX_MESSAGE_CHARS`] characters (a longer one is refused) and a bot
//! message at most [`MAX_REPLY_CHARS`] (a longer one is cut). Over all
//! conversations, transcripts and events take at most `max_bytes`: past
//! it, whole conversations are forgotten as at `max`.
//!
//! Worst cases at the defaults, in bytes (UTF-8, at most 4 bytes a
//! character): a consumer message 8,000, a bot message 16,000 plus its
//! link, so a conversation's 500 messages, one bot message per consumer
//! message and 1 KB links, take about 6.3 MB (the unit test
//! `a_conversation_at_its_caps_takes_about_six_megabytes` measures it).
//! Its 2,000 events take from about 0.1 MB (consumer messages only) to
//! about 0.5 MB (a sign-in link asked for at every turn, each recording
//! its authorization request in about 500 bytes); an event that records
//! what a peer sent (ID token claims, say) may be larger, and counts as
//! much. 50,000 conversations at that worst would take some 350 GB,
//! hence `max_bytes`: 256 MiB holds about 40 of them,
//! or some 45,000 ordinary ones (a sign-in and two answers take about
//! 6 KB, measured by the platform test
//! `an_ordinary_conversation_takes_a_few_kilobytes`), so under an ordinary
//! load the conversation cap and the budget bind at about the same point.

pub mod http;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::capped::{Capped, Weigh};
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

crate::wire::text_id!(ConversationId);

impl ConversationId {
    fn generate() -> Self {
        Self(crate::secret::random_token(16))
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

/// Longest consumer message accepted, in characters: a longer one is
/// refused and nothing is appended.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// Longest bot message, in characters: a longer answer (an API's answer
/// rendered in full, say) is cut there, ending in "…".
pub const MAX_REPLY_CHARS: usize = 4000;

/// `text` cut to at most `max` characters, the last of them "…" when cut.
pub fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some(_) => {
            let end = text
                .char_indices()
                .nth(max.saturating_sub(1))
                .map_or(0, |(i, _)| i);
            format!("{}…", &text[..end])
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

impl Weigh for Message {
    fn weight(&self) -> usize {
        std::mem::size_of::<Message>() + self.text.len() + self.link.as_ref().map_or(0, String::len)
    }
}

/// A conversation's messages: the newest
/// [`ConversationLimits::max_messages`], each with its sequence number,
/// and how many earlier ones were dropped.
pub type Transcript = Capped<Message>;

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
    pub transcript: Transcript,
    pub events: EventLog,
    token: Option<AccessToken>,
    /// When something last happened in it (shared clock).
    last_active: Instant,
    /// When it was closed.
    closed_at: Option<Instant>,
}

impl Conversation {
    /// What its transcript and events take, about (see [`Weigh`]).
    pub fn bytes(&self) -> usize {
        self.transcript.bytes() + self.events.events().bytes()
    }

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

/// How many conversations the platform keeps, how long (seconds on the
/// shared clock), and how much of each.
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
    /// Messages kept per conversation: the newest; the transcript counts
    /// the earlier ones it dropped. Default 500.
    pub max_messages: usize,
    /// Events kept per conversation: the newest; the log counts the
    /// earlier ones it dropped. Default 2,000.
    pub max_events: usize,
    /// Bytes (about: each message's text and link, each event's JSON,
    /// plus their fixed size) that the transcripts and event logs of all
    /// conversations take at most. Over it, whole conversations are
    /// forgotten as at `max` (the closed longest ago first, else the open
    /// one idle longest), never the one just written to. Default 256 MiB.
    pub max_bytes: usize,
}

impl Default for ConversationLimits {
    fn default() -> Self {
        Self {
            idle_secs: 24 * 3600,
            closed_retain_secs: 60,
            max: 50_000,
            max_messages: 500,
            max_events: 2_000,
            max_bytes: 256 * 1024 * 1024,
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

/// The conversations kept, and what their transcripts and events take.
#[derive(Default)]
struct Kept {
    map: HashMap<ConversationId, Conversation>,
    /// The sum of [`Conversation::bytes`] over `map`.
    bytes: usize,
}

/// Every conversation of the platform.
#[derive(Clone)]
pub struct Conversations {
    inner: Arc<Mutex<Kept>>,
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
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().map.is_empty()
    }

    /// What the transcripts and events of all conversations take, about
    /// ([`ConversationLimits::max_bytes`]).
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Close the conversations idle for `idle_secs`, forget those closed
    /// for `closed_retain_secs`. Returns how many were forgotten.
    pub fn sweep(&self, now: Instant) -> usize {
        self.swept_at.store(now.unix_secs(), Ordering::Relaxed);
        let mut closed = Vec::new();
        let forgotten = {
            let mut kept = self.lock();
            let Kept { map, bytes } = &mut *kept;
            for c in map.values_mut() {
                if !c.closed && now.secs_since(c.last_active) >= self.limits.idle_secs {
                    let before = c.bytes();
                    c.close(now);
                    *bytes = *bytes - before + c.bytes();
                    closed.push(c.id.clone());
                }
            }
            let before = map.len();
            let keep = self.limits.closed_retain_secs;
            map.retain(|_, c| {
                let retained = c.closed_at.is_none_or(|at| now.secs_since(at) < keep);
                if !retained {
                    *bytes -= c.bytes();
                }
                retained
            });
            before - map.len()
        };
        for id in closed {
            self.changed(&id);
        }
        forgotten
    }

    /// Back within the limits after `keep` was opened or written to:
    /// while there are more than `max` conversations, or they take more
    /// than `max_bytes`, forget the conversation closed longest ago, or
    /// else the open one idle longest (its token goes with it), never
    /// `keep`. A scan of the conversations, only over a limit.
    fn make_room(&self, kept: &mut Kept, keep: &ConversationId) {
        while kept.map.len() > self.limits.max.max(1) || kept.bytes > self.limits.max_bytes {
            let victim = kept
                .map
                .values()
                .filter(|c| c.id != *keep)
                .min_by_key(|c| (!c.closed, c.closed_at.unwrap_or(c.last_active)))
                .map(|c| c.id.clone());
            let Some(id) = victim else { break };
            if let Some(c) = kept.map.remove(&id) {
                kept.bytes -= c.bytes();
            }
            self.changed(&id);
        }
    }

    /// Change conversation `id` under the lock, keeping the byte count
    /// true and the limits held; `None` if there is no such conversation.
    fn update<R>(&self, id: &ConversationId, f: impl FnOnce(&mut Conversation) -> R) -> Option<R> {
        let mut kept = self.lock();
        let c = kept.map.get_mut(id)?;
        let before = c.bytes();
        let r = f(c);
        let after = c.bytes();
        kept.bytes = kept.bytes - before + after;
        if after > before {
            self.make_room(&mut kept, id);
        }
        Some(r)
    }

    /// Follow the transcript changes of every conversation (by id).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ConversationId> {
        self.changes.subscribe()
    }

    fn changed(&self, id: &ConversationId) {
        // Nobody following is not an error.
        let _ = self.changes.send(id.clone());
    }

    fn lock(&self) -> MutexGuard<'_, Kept> {
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
        let mut events = EventLog::new(self.limits.max_events);
        events.push(now, EventKind::ConversationOpened);
        let conversation = Conversation {
            id: id.clone(),
            org,
            bot,
            consumer_id,
            authenticated,
            closed: false,
            transcript: Transcript::new(self.limits.max_messages),
            events,
            token: None,
            last_active: now,
            closed_at: None,
        };
        let mut kept = self.lock();
        kept.bytes += conversation.bytes();
        kept.map.insert(id.clone(), conversation);
        self.make_room(&mut kept, &id);
        id
    }

    pub fn info(&self, id: &ConversationId) -> Option<ConvInfo> {
        self.lock().map.get(id).map(|c| ConvInfo {
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
        self.lock().map.get(id).map(f)
    }

    pub fn event(&self, id: &ConversationId, now: Instant, kind: EventKind) {
        self.update(id, |c| {
            c.events.push(now, kind);
            c.last_active = c.last_active.max(now);
        });
        self.changed(id);
    }

    /// Append a consumer message (the callers refuse one longer than
    /// [`MAX_MESSAGE_CHARS`]; a longer one is cut here all the same).
    pub fn heard(&self, id: &ConversationId, now: Instant, text: &str) {
        self.update(id, |c| {
            c.transcript.push(Message {
                from: Party::Consumer,
                at: now,
                text: cut(text, MAX_MESSAGE_CHARS),
                link: None,
            });
            c.events.push(now, EventKind::ConsumerMessage);
            c.last_active = c.last_active.max(now);
        });
        self.changed(id);
    }

    /// Append a bot message (not to a closed conversation), its text cut
    /// to [`MAX_REPLY_CHARS`].
    pub fn say(&self, id: &ConversationId, now: Instant, reply: &Reply) {
        self.update(id, |c| {
            if !c.closed {
                c.transcript.push(Message {
                    from: Party::Bot,
                    at: now,
                    text: cut(&reply.text, MAX_REPLY_CHARS),
                    link: reply.link.clone(),
                });
                c.last_active = c.last_active.max(now);
            }
        });
        self.changed(id);
    }

    /// The token to use now, purging it if its expiry has passed.
    pub fn token(&self, id: &ConversationId, now: Instant) -> TokenCheck {
        let mut kept = self.lock();
        let Some(c) = kept.map.get_mut(id).filter(|c| !c.closed) else {
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
        match self.lock().map.get_mut(id).filter(|c| !c.closed) {
            Some(c) => {
                c.token = Some(token);
                true
            }
            None => false,
        }
    }

    pub fn drop_token(&self, id: &ConversationId) {
        if let Some(c) = self.lock().map.get_mut(id) {
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
        let closed = self.update(id, |c| c.close(now)).is_some();
        if closed {
            self.changed(id);
        }
        closed
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
            ..ConversationLimits::default()
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

    fn capped(max_messages: usize, max_events: usize, max_bytes: usize) -> ConversationLimits {
        ConversationLimits {
            max_messages,
            max_events,
            max_bytes,
            ..ConversationLimits::default()
        }
    }

    #[test]
    fn a_transcript_keeps_the_newest_messages_and_counts_the_rest() {
        let convs = Conversations::new(capped(3, 4, usize::MAX));
        let id = open(&convs, at(0));
        for i in 0..5 {
            convs.heard(&id, at(i), &format!("m{i}"));
        }
        convs.say(&id, at(5), &Reply::text("answer"));
        let (texts, seqs, dropped, appended) = convs
            .read(&id, |c| {
                (
                    c.transcript
                        .iter()
                        .map(|m| m.text.clone())
                        .collect::<Vec<_>>(),
                    c.transcript.numbered().map(|(s, _)| s).collect::<Vec<_>>(),
                    c.transcript.dropped(),
                    c.transcript.appended(),
                )
            })
            .unwrap();
        assert_eq!(texts, ["m3", "m4", "answer"]);
        // The sequence number counts every message ever appended.
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!((dropped, appended), (3, 6));
        // Opened, then one consumer_message per message: 6 events, 4 kept.
        let (kinds, dropped) = convs
            .read(&id, |c| {
                (
                    c.events
                        .events()
                        .iter()
                        .map(|e| e.kind.clone())
                        .collect::<Vec<_>>(),
                    c.events.dropped(),
                )
            })
            .unwrap();
        assert_eq!(kinds, vec![EventKind::ConsumerMessage; 4]);
        assert_eq!(dropped, 2);
    }

    #[test]
    fn messages_are_kept_at_most_at_their_size_limits() {
        let convs = Conversations::default();
        let id = open(&convs, at(0));
        convs.heard(&id, at(1), &"é".repeat(MAX_MESSAGE_CHARS + 10));
        convs.say(&id, at(1), &Reply::text("x".repeat(MAX_REPLY_CHARS * 3)));
        let lengths = convs
            .read(&id, |c| {
                c.transcript
                    .iter()
                    .map(|m| (m.text.chars().count(), m.text.ends_with('…')))
                    .collect::<Vec<_>>()
            })
            .unwrap();
        assert_eq!(
            lengths,
            [(MAX_MESSAGE_CHARS, true), (MAX_REPLY_CHARS, true)]
        );
        assert_eq!(cut("short", 5), "short");
        assert_eq!(cut("longer", 5), "long…");
    }

    /// The byte count follows every change, and over the budget whole
    /// conversations go (the idle longest), never the one written to.
    #[test]
    fn over_the_byte_budget_the_idle_longest_conversation_goes() {
        let convs = Conversations::new(capped(500, 2000, 20_000));
        let quiet = open(&convs, at(0));
        let busy = open(&convs, at(1));
        convs.heard(&quiet, at(2), "hello");
        let sum = || {
            convs
                .lock()
                .map
                .values()
                .map(Conversation::bytes)
                .sum::<usize>()
        };
        assert_eq!(convs.bytes(), sum());
        let line = "x".repeat(1000);
        let mut n = 0;
        while convs.info(&quiet).is_some() {
            convs.heard(&busy, at(3), &line);
            assert_eq!(convs.bytes(), sum());
            n += 1;
            assert!(n < 100, "never forgotten: {} bytes", convs.bytes());
        }
        assert!(convs.bytes() <= 20_000);
        assert!(n > 10, "{n}");
        // Alone over the budget, the conversation written to stays.
        for _ in 0..20 {
            convs.heard(&busy, at(4), &line);
        }
        assert_eq!(convs.len(), 1);
        assert!(convs.bytes() > 20_000);
        assert_eq!(convs.bytes(), sum());
        convs.close(&busy, at(5));
        assert_eq!(convs.bytes(), sum());
        convs.sweep(at(5 + 3600));
        assert_eq!((convs.len(), convs.bytes()), (0, 0));
    }

    /// What one conversation takes at its caps, each message as long as it
    /// may be: the worst case the defaults allow (module doc).
    #[test]
    fn a_conversation_at_its_caps_takes_about_six_megabytes() {
        let limits = ConversationLimits::default();
        let convs = Conversations::new(ConversationLimits {
            max_bytes: usize::MAX,
            ..limits.clone()
        });
        let id = open(&convs, at(0));
        // Four-byte characters, a sign-in link of 1,000 bytes.
        let said = "😀".repeat(MAX_MESSAGE_CHARS);
        let answer = Reply {
            text: "😀".repeat(MAX_REPLY_CHARS),
            link: Some("x".repeat(1000)),
        };
        for i in 0..limits.max_messages {
            convs.heard(&id, at(i as i64), &said);
            convs.say(&id, at(i as i64), &answer);
        }
        let (messages, events) = convs
            .read(&id, |c| (c.transcript.bytes(), c.events.events().bytes()))
            .unwrap();
        let worst = limits.max_messages / 2 * (8_000 + 16_000 + 1_000);
        assert!(
            messages >= worst && messages < worst + limits.max_messages * 100,
            "{messages}"
        );
        assert!(events < 200_000, "{events}");
    }
}
