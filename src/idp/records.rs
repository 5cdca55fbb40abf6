//! What the IdP keeps of every code and token it issues, and how much of it.
//!
//! # One compact record per code or token
//!
//! A record holds what introspection, revocation, refresh families and
//! inspection need: the id ([`TokenId`], 16 bytes of the value's SHA-256;
//! never the value), client, subject, scope, audience, times, how often it
//! was presented, and its state. Strings that many records share (client
//! ids, subjects, scopes, audiences, certificate thumbprints) are kept once
//! in a table ([`Symbols`], counted references) and a record holds a 4-byte
//! [`Sym`]; a refresh family is a number ([`FamilyId`]), revoked in one
//! step for all its members. An access token record is 56 bytes, 72 with
//! its key; `cargo bench --bench records` measures what one costs with the
//! map and the expiry index around it.
//!
//! # Bounded, on the shared clock
//!
//! Every record is filed by its expiry second ([`ExpiryIndex`]), so
//! [`Records::prune`] forgets what expired more than the retention time
//! ago (`[idp] retain_expired_secs`) without walking the live ones. There
//! is also a ceiling, [`Limits::max_records`]. A new record at the ceiling
//! first makes room:
//!
//! 1. by forgetting an expired record (the one expired longest first);
//! 2. else by forgetting a live JWT access token of a client credentials,
//!    JWT bearer or API key grant that is not revoked, the one closest to
//!    its expiry first. Such a token needs no record to be checked (the
//!    brand API verifies its signature): the IdP then answers
//!    introspection, userinfo and revocation for it from its own signature
//!    ([`Records::evicted_until`] says up to which expiry that applies),
//!    and a revocation brings its record back, revoked. Only its
//!    inspection entry and presentation count are lost.
//! 3. Else, when every record held is a live code, refresh token, opaque
//!    access token, or one of a code or a family, or is revoked (the IdP
//!    could not forget any of them without breaking a promise: an opaque
//!    token is only valid through its record), the new record is refused
//!    ([`Full`]): the endpoint answers `temporarily_unavailable` with 503
//!    and `Retry-After` (the token endpoint and revocation) or the
//!    authorization error of the same name (RFC 6749 4.1.2.1), and a log
//!    line says which limit was hit and how to raise it.
//!
//! # Single use, replay and refresh families
//!
//! What presenting a code or a refresh token does to the records (used
//! once; a replayed code revokes what it produced; a reused rotated
//! refresh token revokes its family) is decided here, under the store's
//! lock, by [`Records::redeem_code`], [`Records::complete_code_exchange`]
//! and [`Records::redeem_refresh`] (module `redeem`); the token endpoint
//! only checks the request against the record and words the answer.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::num::{NonZeroU32, NonZeroU64};
use std::sync::Arc;
use std::time::Duration;

use super::fixtures::TokenFormat;
use super::state::{Grant, Pkce, Scope};
use crate::clock::Instant;
pub use crate::wire::TokenId;
pub use redeem::{CodeRefusal, RedeemedCode, RedeemedRefresh, RefreshRefusal, Rotation};

mod redeem;

/// How much the IdP holds at most, and how much inspection lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Codes, access tokens and refresh tokens held at most, live and
    /// recently expired together (see the module documentation for what
    /// happens at the ceiling). Default 900,000, about 200 MB held at the
    /// ceiling: under a steady churn (as many records forgotten as
    /// recorded) a hash map keeps its size only while it is at most half
    /// full, so 900,000 keeps the largest map at 2^21 slots; past 917,504
    /// it doubles to 2^22 (about 150 MB more). `benches/soak.sh` shows
    /// both.
    pub max_records: usize,
    /// Signed-in browser sessions held at most. At the ceiling the one
    /// closest to its end is forgotten (that consumer signs in again).
    pub max_sessions: usize,
    /// Login and consent forms in flight held at most. At the ceiling the
    /// oldest is forgotten (submitting it shows the expired-form page).
    pub max_forms: usize,
    /// Records of each kind that inspection (`GET /admin/grants`, the
    /// inspector page) lists at most: the most recently issued.
    pub inspect_limit: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_records: 900_000,
            max_sessions: 100_000,
            max_forms: 100_000,
            inspect_limit: 10_000,
        }
    }
}

/// A string many records share, kept once in [`Symbols`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sym(NonZeroU32);

impl Sym {
    fn index(self) -> usize {
        self.0.get() as usize - 1
    }
}

/// Interned strings with a count of the records that use each; a string
/// no record uses any more is dropped, so the table is as large as the
/// distinct values of what is held, not of what was ever issued.
#[derive(Default)]
pub struct Symbols {
    slots: Vec<(Option<Arc<str>>, u32)>,
    ids: HashMap<Arc<str>, Sym>,
    free: Vec<Sym>,
}

impl Symbols {
    /// `text`'s symbol, counting one more use.
    fn intern(&mut self, text: &str) -> Sym {
        if let Some(&sym) = self.ids.get(text) {
            self.slots[sym.index()].1 += 1;
            return sym;
        }
        let text: Arc<str> = text.into();
        let sym = match self.free.pop() {
            Some(sym) => {
                self.slots[sym.index()] = (Some(text.clone()), 1);
                sym
            }
            None => {
                self.slots.push((Some(text.clone()), 1));
                let n = u32::try_from(self.slots.len()).expect("fewer than 2^32 distinct strings");
                Sym(NonZeroU32::new(n).expect("at least one slot"))
            }
        };
        self.ids.insert(text, sym);
        sym
    }

    /// One use fewer; the string goes with its last use.
    fn release(&mut self, sym: Sym) {
        let slot = &mut self.slots[sym.index()];
        slot.1 = slot.1.saturating_sub(1);
        if slot.1 == 0
            && let Some(text) = slot.0.take()
        {
            self.ids.remove(&text);
            self.free.push(sym);
        }
    }

    /// The symbol of `text`, if a record uses it.
    fn find(&self, text: &str) -> Option<Sym> {
        self.ids.get(text).copied()
    }

    fn text(&self, sym: Sym) -> &str {
        self.slots
            .get(sym.index())
            .and_then(|(text, _)| text.as_deref())
            .unwrap_or("")
    }

    /// Distinct strings held.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A refresh token family: the refresh tokens rotated from one code, and
/// the access tokens minted with them (RFC 9700 4.14.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FamilyId(NonZeroU64);

impl std::fmt::Display for FamilyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "family-{}", self.0)
    }
}

#[derive(Debug, Default)]
struct Family {
    /// Records of the family held (codes, access and refresh tokens).
    members: u32,
    revoked: bool,
}

/// An authorization code. Few live at once (a minute each), so it keeps
/// plain strings beside its symbols.
pub struct CodeRecord {
    pub seq: u64,
    pub client: Sym,
    pub sub: Sym,
    pub scope: Sym,
    /// The `redirect_uri` the authorization request carried, if it did:
    /// the token request must then carry the same (RFC 6749 4.1.3).
    pub redirect_uri_param: Option<String>,
    pub nonce: Option<String>,
    /// Its `Debug` hides the challenge (with `plain` it is the verifier).
    pub pkce: Option<Pkce>,
    pub auth_time: Instant,
    pub issued_at: Instant,
    pub expires_at: Instant,
    pub presented: u32,
    pub used: bool,
    /// Presented again after use: tokens minted for it are born revoked.
    pub replayed: bool,
    /// Access tokens issued from this code (revoked on replay).
    pub access_tokens: Vec<TokenId>,
    /// The refresh family started by this code (revoked on replay).
    pub family: Option<FamilyId>,
}

impl std::fmt::Debug for CodeRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeRecord")
            .field("seq", &self.seq)
            .field("pkce", &self.pkce)
            .field("expires_at", &self.expires_at)
            .field("used", &self.used)
            .field("presented", &self.presented)
            .finish_non_exhaustive()
    }
}

/// An access token: 56 bytes. Times are an issue time and two 32-bit
/// offsets from it (its lifetime, and how long before it the consumer
/// signed in), which is what keeps it small.
#[derive(Debug)]
pub struct AccessRecord {
    pub seq: u64,
    pub issued_at: Instant,
    pub family: Option<FamilyId>,
    lifetime: u32,
    /// `issued_at - auth_time`; `u32::MAX` for none.
    auth_age: u32,
    pub client: Sym,
    pub sub: Option<Sym>,
    pub scope: Sym,
    pub audience: Sym,
    pub presented: u32,
    pub format: TokenFormat,
    pub grant: Grant,
    /// Revoked itself; see also [`Records::access_revoked`] (its family).
    pub revoked: bool,
    /// Bound to a client certificate ([`Records::binding`]).
    pub bound: bool,
}

impl AccessRecord {
    pub fn expires_at(&self) -> Instant {
        self.issued_at + Duration::from_secs(self.lifetime.into())
    }

    pub fn auth_time(&self) -> Option<Instant> {
        (self.auth_age != u32::MAX)
            .then(|| self.issued_at - Duration::from_secs(self.auth_age.into()))
    }

    /// Whether the record may go at the ceiling while the token lives:
    /// a JWT, valid by its signature alone, of a grant with no code or
    /// family that would have to revoke it later.
    fn evictable(&self) -> bool {
        self.format == TokenFormat::Jwt
            && self.family.is_none()
            && !self.revoked
            && matches!(
                self.grant,
                Grant::ClientCredentials | Grant::JwtBearer | Grant::ApiKey
            )
    }
}

/// A refresh token.
#[derive(Debug)]
pub struct RefreshRecord {
    pub seq: u64,
    pub issued_at: Instant,
    pub expires_at: Instant,
    pub auth_time: Instant,
    pub family: FamilyId,
    pub client: Sym,
    pub sub: Sym,
    pub scope: Sym,
    pub presented: u32,
    /// Revoked itself; see also [`Records::family_revoked`].
    pub revoked: bool,
    /// Exchanged for a successor (rotation): presenting it again is reuse.
    pub rotated: bool,
}

/// A code to record, as the authorization endpoint issues it.
pub struct CodeDraft<'a> {
    pub id: TokenId,
    pub client_id: &'a str,
    pub sub: &'a str,
    pub scope: &'a Scope,
    pub redirect_uri_param: Option<String>,
    pub nonce: Option<String>,
    pub pkce: Option<Pkce>,
    pub auth_time: Instant,
    pub issued_at: Instant,
    pub expires_at: Instant,
}

/// An access token to record, as minted.
#[derive(Debug)]
pub struct AccessDraft<'a> {
    pub id: TokenId,
    pub client_id: &'a str,
    pub sub: Option<&'a str>,
    pub scope: &'a str,
    pub audience: &'a str,
    pub format: TokenFormat,
    pub grant: Grant,
    pub issued_at: Instant,
    pub expires_at: Instant,
    pub auth_time: Option<Instant>,
    pub family: Option<FamilyId>,
    pub revoked: bool,
    /// `x5t#S256` of the client certificate the token is bound to
    /// (RFC 8705 3.1).
    pub binding: Option<&'a str>,
}

/// A refresh token to record, as minted.
#[derive(Debug)]
pub struct RefreshDraft<'a> {
    pub id: TokenId,
    pub client_id: &'a str,
    pub sub: &'a str,
    pub scope: &'a str,
    pub family: FamilyId,
    pub auth_time: Instant,
    pub issued_at: Instant,
    pub expires_at: Instant,
}

/// Which table an index entry points into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Code,
    Access,
    Refresh,
}

/// What the expiry index holds: 17 bytes.
#[derive(Clone, Copy, Debug)]
struct Entry {
    id: TokenId,
    kind: Kind,
}

/// Ids filed by expiry second, in the order filed within a second. An
/// entry whose record has gone (or whose record now expires at another
/// second) is stale and skipped when met: removal never has to search the
/// index.
#[derive(Debug)]
pub struct ExpiryIndex<E> {
    buckets: BTreeMap<Instant, VecDeque<E>>,
}

impl<E> Default for ExpiryIndex<E> {
    fn default() -> Self {
        Self {
            buckets: BTreeMap::new(),
        }
    }
}

impl<E: Copy> ExpiryIndex<E> {
    pub fn push(&mut self, at: Instant, entry: E) {
        self.buckets.entry(at).or_default().push_back(entry);
    }

    /// The earliest second filed.
    pub fn first(&self) -> Option<Instant> {
        self.buckets.first_key_value().map(|(at, _)| *at)
    }

    /// The first entry filed for the earliest second.
    pub fn pop_first(&mut self) -> Option<(Instant, E)> {
        let mut bucket = self.buckets.first_entry()?;
        let at = *bucket.key();
        let entry = bucket.get_mut().pop_front();
        if bucket.get().is_empty() {
            bucket.remove();
        }
        entry.map(|e| (at, e))
    }

    /// Every entry filed at or before `horizon`, taken out.
    pub fn take_until(&mut self, horizon: Instant) -> BTreeMap<Instant, VecDeque<E>> {
        match (horizon < Instant::MAX).then(|| horizon + Duration::from_secs(1)) {
            Some(after) => {
                let later = self.buckets.split_off(&after);
                std::mem::replace(&mut self.buckets, later)
            }
            None => std::mem::take(&mut self.buckets),
        }
    }

    /// Entries filed (stale ones included).
    pub fn len(&self) -> usize {
        self.buckets.values().map(VecDeque::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

/// A new record was refused: the ceiling is reached and nothing held can
/// be forgotten yet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the IdP holds its maximum of {max_records} codes and tokens (max_records) and none can be forgotten yet; retry in {retry_after} s"
)]
pub struct Full {
    pub max_records: usize,
    /// Seconds until the first record held expires (then it can go).
    pub retry_after: u64,
}

/// Counters since start or reset, for inspection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Access tokens recorded.
    pub access_tokens_issued: u64,
    /// Records forgotten after they expired (the sweep, or at the ceiling).
    pub expired_forgotten: u64,
    /// Live JWT access token records forgotten at the ceiling.
    pub live_evicted: u64,
    /// New records refused at the ceiling.
    pub refused: u64,
}

/// Every code and token record, their index by expiry, the strings they
/// share and their families. Lives in the store, behind its lock.
pub struct Records {
    limits: Limits,
    symbols: Symbols,
    codes: HashMap<TokenId, CodeRecord>,
    access: HashMap<TokenId, AccessRecord>,
    refresh: HashMap<TokenId, RefreshRecord>,
    /// Records held until they expire.
    kept: ExpiryIndex<Entry>,
    /// Live access token records that may go at the ceiling.
    evictable: ExpiryIndex<TokenId>,
    families: HashMap<FamilyId, Family>,
    /// Thumbprints of certificate-bound access tokens.
    bindings: HashMap<TokenId, Sym>,
    seq: u64,
    last_family: u64,
    counters: Counters,
    /// The latest expiry of a live access token forgotten at the ceiling.
    evicted_until: Option<Instant>,
    /// When the ceiling was last logged (real time), and refusals since.
    warned: Option<(std::time::Instant, u64)>,
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("codes", &self.codes.len())
            .field("access", &self.access.len())
            .field("refresh", &self.refresh.len())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for Records {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

/// How often the ceiling is logged at most, while it lasts.
const WARN_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

impl Records {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            symbols: Symbols::default(),
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            kept: ExpiryIndex::default(),
            evictable: ExpiryIndex::default(),
            families: HashMap::new(),
            bindings: HashMap::new(),
            seq: 0,
            last_family: 0,
            counters: Counters::default(),
            evicted_until: None,
            warned: None,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Codes and tokens held.
    pub fn len(&self) -> usize {
        self.codes.len() + self.access.len() + self.refresh.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Distinct strings the records share.
    pub fn symbols(&self) -> &Symbols {
        &self.symbols
    }

    /// The text of a record's symbol.
    pub fn text(&self, sym: Sym) -> &str {
        self.symbols.text(sym)
    }

    /// The symbol of `text` if a record uses it (to compare a record's
    /// client with a client id without interning it).
    pub fn find(&self, text: &str) -> Option<Sym> {
        self.symbols.find(text)
    }

    /// A new refresh family.
    fn new_family(&mut self) -> FamilyId {
        self.last_family += 1;
        FamilyId(NonZeroU64::new(self.last_family).expect("counts from 1"))
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn join_family(&mut self, family: FamilyId) {
        self.families.entry(family).or_default().members += 1;
    }

    fn leave_family(&mut self, family: FamilyId) {
        if let Some(f) = self.families.get_mut(&family) {
            f.members = f.members.saturating_sub(1);
            if f.members == 0 {
                self.families.remove(&family);
            }
        }
    }

    /// Whether `family` was revoked (a member still held says so).
    pub fn family_revoked(&self, family: FamilyId) -> bool {
        self.families.get(&family).is_some_and(|f| f.revoked)
    }

    /// Revoke every token of a refresh family (RFC 9700 4.14.2), and
    /// those of it recorded later.
    pub fn revoke_family(&mut self, family: FamilyId) {
        if let Some(f) = self.families.get_mut(&family) {
            f.revoked = true;
        }
    }

    /// Whether an access token is revoked, itself or with its family.
    pub fn access_revoked(&self, record: &AccessRecord) -> bool {
        record.revoked || record.family.is_some_and(|f| self.family_revoked(f))
    }

    /// Whether a refresh token is revoked, itself or with its family.
    pub fn refresh_revoked(&self, record: &RefreshRecord) -> bool {
        record.revoked || self.family_revoked(record.family)
    }

    /// The `x5t#S256` an access token is bound to.
    pub fn binding(&self, id: &TokenId) -> Option<&str> {
        self.bindings.get(id).map(|s| self.symbols.text(*s))
    }

    /// Up to which expiry live JWT access tokens may have been forgotten
    /// at the ceiling (`None`: none was).
    pub fn evicted_until(&self) -> Option<Instant> {
        self.evicted_until
    }

    // --- reading ------------------------------------------------------------

    pub fn code(&self, id: &TokenId) -> Option<&CodeRecord> {
        self.codes.get(id)
    }

    pub fn access(&self, id: &TokenId) -> Option<&AccessRecord> {
        self.access.get(id)
    }

    pub fn access_mut(&mut self, id: &TokenId) -> Option<&mut AccessRecord> {
        self.access.get_mut(id)
    }

    pub fn refresh(&self, id: &TokenId) -> Option<&RefreshRecord> {
        self.refresh.get(id)
    }

    pub fn refresh_mut(&mut self, id: &TokenId) -> Option<&mut RefreshRecord> {
        self.refresh.get_mut(id)
    }

    pub fn codes(&self) -> impl Iterator<Item = (&TokenId, &CodeRecord)> {
        self.codes.iter()
    }

    pub fn access_tokens(&self) -> impl Iterator<Item = (&TokenId, &AccessRecord)> {
        self.access.iter()
    }

    pub fn refresh_tokens(&self) -> impl Iterator<Item = (&TokenId, &RefreshRecord)> {
        self.refresh.iter()
    }

    // --- recording ----------------------------------------------------------

    /// Record a code.
    pub fn insert_code(&mut self, d: CodeDraft<'_>, now: Instant) -> Result<(), Full> {
        self.make_room(1, now)?;
        let seq = self.next_seq();
        let record = CodeRecord {
            seq,
            client: self.symbols.intern(d.client_id),
            sub: self.symbols.intern(d.sub),
            scope: self.symbols.intern(&d.scope.to_string()),
            redirect_uri_param: d.redirect_uri_param,
            nonce: d.nonce,
            pkce: d.pkce,
            auth_time: d.auth_time,
            issued_at: d.issued_at,
            expires_at: d.expires_at,
            presented: 0,
            used: false,
            replayed: false,
            access_tokens: Vec::new(),
            family: None,
        };
        self.forget(Entry {
            id: d.id,
            kind: Kind::Code,
        });
        self.kept.push(
            record.expires_at,
            Entry {
                id: d.id,
                kind: Kind::Code,
            },
        );
        self.codes.insert(d.id, record);
        Ok(())
    }

    /// Set the family a code started (after its exchange), so a replay
    /// revokes it.
    fn set_code_family(&mut self, id: &TokenId, family: FamilyId) {
        let previous = match self.codes.get_mut(id) {
            Some(code) => code.family.replace(family),
            None => return,
        };
        self.join_family(family);
        if let Some(previous) = previous {
            self.leave_family(previous);
        }
    }

    /// Record an access token and, with it, a refresh token: both or
    /// neither.
    pub fn insert_tokens(
        &mut self,
        access: AccessDraft<'_>,
        refresh: Option<RefreshDraft<'_>>,
        now: Instant,
    ) -> Result<(), Full> {
        self.make_room(1 + usize::from(refresh.is_some()), now)?;
        self.put_access(access);
        if let Some(r) = refresh {
            self.put_refresh(r);
        }
        Ok(())
    }

    /// Record a refresh token alone.
    pub fn insert_refresh(&mut self, refresh: RefreshDraft<'_>, now: Instant) -> Result<(), Full> {
        self.make_room(1, now)?;
        self.put_refresh(refresh);
        Ok(())
    }

    fn put_access(&mut self, d: AccessDraft<'_>) {
        let entry = Entry {
            id: d.id,
            kind: Kind::Access,
        };
        self.forget(entry);
        let seq = self.next_seq();
        let lifetime =
            u32::try_from(d.expires_at.secs_since(d.issued_at).max(0)).unwrap_or(u32::MAX);
        let auth_age = d.auth_time.map_or(u32::MAX, |t| {
            u32::try_from(d.issued_at.secs_since(t).max(0)).unwrap_or(u32::MAX - 1)
        });
        let record = AccessRecord {
            seq,
            issued_at: d.issued_at,
            family: d.family,
            lifetime,
            auth_age,
            client: self.symbols.intern(d.client_id),
            sub: d.sub.map(|s| self.symbols.intern(s)),
            scope: self.symbols.intern(d.scope),
            audience: self.symbols.intern(d.audience),
            presented: 0,
            format: d.format,
            grant: d.grant,
            revoked: d.revoked,
            bound: d.binding.is_some(),
        };
        if let Some(family) = d.family {
            self.join_family(family);
        }
        if let Some(thumbprint) = d.binding {
            let sym = self.symbols.intern(thumbprint);
            self.bindings.insert(d.id, sym);
        }
        let at = record.expires_at();
        if record.evictable() {
            self.evictable.push(at, d.id);
        } else {
            self.kept.push(at, entry);
        }
        self.access.insert(d.id, record);
        self.counters.access_tokens_issued += 1;
    }

    fn put_refresh(&mut self, d: RefreshDraft<'_>) {
        let entry = Entry {
            id: d.id,
            kind: Kind::Refresh,
        };
        self.forget(entry);
        let seq = self.next_seq();
        let record = RefreshRecord {
            seq,
            issued_at: d.issued_at,
            expires_at: d.expires_at,
            auth_time: d.auth_time,
            family: d.family,
            client: self.symbols.intern(d.client_id),
            sub: self.symbols.intern(d.sub),
            scope: self.symbols.intern(d.scope),
            presented: 0,
            revoked: false,
            rotated: false,
        };
        self.join_family(d.family);
        self.kept.push(record.expires_at, entry);
        self.refresh.insert(d.id, record);
    }

    // --- forgetting ---------------------------------------------------------

    /// Remove a record and give back what it used; false if there was none.
    fn forget(&mut self, entry: Entry) -> bool {
        match entry.kind {
            Kind::Code => {
                let Some(c) = self.codes.remove(&entry.id) else {
                    return false;
                };
                for sym in [c.client, c.sub, c.scope] {
                    self.symbols.release(sym);
                }
                if let Some(f) = c.family {
                    self.leave_family(f);
                }
            }
            Kind::Access => {
                let Some(a) = self.access.remove(&entry.id) else {
                    return false;
                };
                for sym in [Some(a.client), a.sub, Some(a.scope), Some(a.audience)]
                    .into_iter()
                    .flatten()
                {
                    self.symbols.release(sym);
                }
                if let Some(f) = a.family {
                    self.leave_family(f);
                }
                if let Some(sym) = self.bindings.remove(&entry.id) {
                    self.symbols.release(sym);
                }
            }
            Kind::Refresh => {
                let Some(r) = self.refresh.remove(&entry.id) else {
                    return false;
                };
                for sym in [r.client, r.sub, r.scope] {
                    self.symbols.release(sym);
                }
                self.leave_family(r.family);
            }
        }
        true
    }

    /// When the record an index entry names expires, if it is held.
    fn expiry_of(&self, entry: Entry) -> Option<Instant> {
        match entry.kind {
            Kind::Code => self.codes.get(&entry.id).map(|c| c.expires_at),
            Kind::Access => self.access.get(&entry.id).map(AccessRecord::expires_at),
            Kind::Refresh => self.refresh.get(&entry.id).map(|r| r.expires_at),
        }
    }

    /// Forget the record of an entry filed at `at` if it is the one filed
    /// there (not a stale entry).
    fn forget_filed(&mut self, at: Instant, entry: Entry) -> bool {
        self.expiry_of(entry) == Some(at) && self.forget(entry)
    }

    /// Forget every record that expired at or before `horizon`. Cost: the
    /// records forgotten, not those held.
    pub fn prune(&mut self, horizon: Instant) {
        let kept = self.kept.take_until(horizon);
        for (at, entries) in kept {
            for entry in entries {
                if self.forget_filed(at, entry) {
                    self.counters.expired_forgotten += 1;
                }
            }
        }
        let evictable = self.evictable.take_until(horizon);
        for (at, ids) in evictable {
            for id in ids {
                let entry = Entry {
                    id,
                    kind: Kind::Access,
                };
                if self.forget_filed(at, entry) {
                    self.counters.expired_forgotten += 1;
                }
            }
        }
        shrink(&mut self.access);
        shrink(&mut self.refresh);
        shrink(&mut self.codes);
    }

    /// Make room for `n` more records, or say why not.
    fn make_room(&mut self, n: usize, now: Instant) -> Result<(), Full> {
        while self.len() + n > self.limits.max_records {
            if self.forget_one_expired(now) || self.evict_one_live() {
                continue;
            }
            return Err(self.refuse(now));
        }
        Ok(())
    }

    /// Take one entry off whichever index has the earliest expiry, if that
    /// is past at `now`; true if one was taken (stale or not).
    fn forget_one_expired(&mut self, now: Instant) -> bool {
        let kept = self.kept.first().filter(|at| *at <= now);
        let evictable = self.evictable.first().filter(|at| *at <= now);
        let taken = match (kept, evictable) {
            (None, None) => return false,
            (Some(k), Some(e)) if e < k => self.pop_evictable(),
            (Some(_), _) => self.kept.pop_first(),
            (None, Some(_)) => self.pop_evictable(),
        };
        if let Some((at, entry)) = taken
            && self.forget_filed(at, entry)
        {
            self.counters.expired_forgotten += 1;
        }
        true
    }

    fn pop_evictable(&mut self) -> Option<(Instant, Entry)> {
        self.evictable.pop_first().map(|(at, id)| {
            (
                at,
                Entry {
                    id,
                    kind: Kind::Access,
                },
            )
        })
    }

    /// Forget the live evictable access token closest to its expiry; a
    /// revoked one found on the way is filed with the kept ones instead
    /// (its revocation must hold until it expires). True if an entry was
    /// taken.
    fn evict_one_live(&mut self) -> bool {
        let Some((at, entry)) = self.pop_evictable() else {
            return false;
        };
        let revoked = match self.access.get(&entry.id) {
            Some(a) if a.expires_at() == at => self.access_revoked(a),
            _ => return true,
        };
        if revoked {
            self.kept.push(at, entry);
        } else if self.forget(entry) {
            self.counters.live_evicted += 1;
            self.evicted_until = Some(self.evicted_until.map_or(at, |u| u.max(at)));
        }
        true
    }

    fn refuse(&mut self, now: Instant) -> Full {
        self.counters.refused += 1;
        let retry_after = self
            .kept
            .first()
            .map_or(1, |at| at.duration_since(now).as_secs())
            .clamp(1, 3600);
        let full = Full {
            max_records: self.limits.max_records,
            retry_after,
        };
        let due = match self.warned {
            Some((at, _)) => at.elapsed() >= WARN_EVERY,
            None => true,
        };
        if due {
            let refused = self.warned.map_or(1, |(_, n)| n + 1);
            tracing::warn!(
                max_records = full.max_records,
                refused,
                retry_after,
                "token store full: the IdP holds its ceiling of {} codes and tokens (max_records) and can forget none of them yet (live codes, refresh tokens, opaque or revoked access tokens), so it answers temporarily_unavailable ({} refused since the last such line). Raise the ceiling with `standin idp --max-records N` (IdpOptions::limits.max_records), give the clients shorter token lifetimes, or issue JWT access tokens, whose records make room instead",
                full.max_records,
                refused,
            );
            self.warned = Some((std::time::Instant::now(), 0));
        } else if let Some((_, n)) = &mut self.warned {
            *n += 1;
        }
        full
    }
}

/// Give memory back after a burst: a map using under a quarter of its
/// room shrinks to twice its size.
fn shrink<V>(map: &mut HashMap<TokenId, V>) {
    if map.capacity() > 4096 && map.len() < map.capacity() / 4 {
        map.shrink_to(map.len() * 2);
    }
}

/// Something with an expiry on the shared clock.
pub trait Expires {
    fn expires_at(&self) -> Instant;
}

/// A map by [`TokenId`] of things that expire (login sessions, forms in
/// flight), with a ceiling: at it, the one closest to its expiry goes.
/// Expired ones go with [`Expiring::prune`], cheaply.
pub struct Expiring<V> {
    map: HashMap<TokenId, V>,
    index: ExpiryIndex<TokenId>,
    max: usize,
}

impl<V> std::fmt::Debug for Expiring<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expiring")
            .field("len", &self.map.len())
            .field("max", &self.max)
            .finish()
    }
}

impl<V: Expires> Expiring<V> {
    pub fn new(max: usize) -> Self {
        Self {
            map: HashMap::new(),
            index: ExpiryIndex::default(),
            max: max.max(1),
        }
    }

    pub fn set_max(&mut self, max: usize) {
        self.max = max.max(1);
    }

    pub fn get(&self, id: &TokenId) -> Option<&V> {
        self.map.get(id)
    }

    pub fn remove(&mut self, id: &TokenId) -> Option<V> {
        self.map.remove(id)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Keep `value` under `id`; at the ceiling, the one closest to its
    /// expiry is forgotten first.
    pub fn insert(&mut self, id: TokenId, value: V) {
        if !self.map.contains_key(&id) {
            while self.map.len() >= self.max {
                let Some((at, old)) = self.index.pop_first() else {
                    break;
                };
                if self.map.get(&old).is_some_and(|v| v.expires_at() == at) {
                    self.map.remove(&old);
                }
            }
        }
        self.index.push(value.expires_at(), id);
        self.map.insert(id, value);
    }

    /// Forget what has expired at `now`.
    pub fn prune(&mut self, now: Instant) {
        for (at, ids) in self.index.take_until(now) {
            for id in ids {
                if self.map.get(&id).is_some_and(|v| v.expires_at() == at) {
                    self.map.remove(&id);
                }
            }
        }
        shrink(&mut self.map);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> crate::clock::Instant {
        crate::clock::Instant::from_unix_secs(secs)
    }

    fn limits(max_records: usize) -> Limits {
        Limits {
            max_records,
            ..Limits::default()
        }
    }

    fn access<'a>(
        value: &str,
        format: TokenFormat,
        grant: Grant,
        expires_at: i64,
    ) -> AccessDraft<'a> {
        AccessDraft {
            id: TokenId::of(value),
            client_id: "c",
            sub: None,
            scope: "orders:read",
            audience: "brand-api",
            format,
            grant,
            issued_at: at(0),
            expires_at: at(expires_at),
            auth_time: None,
            family: None,
            revoked: false,
            binding: None,
        }
    }

    fn opaque<'a>(value: &str, expires_at: i64) -> AccessDraft<'a> {
        access(
            value,
            TokenFormat::Opaque,
            Grant::ClientCredentials,
            expires_at,
        )
    }

    fn jwt<'a>(value: &str, expires_at: i64) -> AccessDraft<'a> {
        access(
            value,
            TokenFormat::Jwt,
            Grant::ClientCredentials,
            expires_at,
        )
    }

    fn held(r: &Records, value: &str) -> bool {
        r.access(&TokenId::of(value)).is_some()
    }

    #[test]
    fn records_are_compact() {
        assert_eq!(std::mem::size_of::<AccessRecord>(), 56);
        assert_eq!(std::mem::size_of::<(TokenId, AccessRecord)>(), 72);
        assert_eq!(std::mem::size_of::<Entry>(), 17);
    }

    #[test]
    fn times_survive_the_compact_form() {
        let mut r = Records::default();
        let mut d = jwt("t", 1_700_000_600);
        d.issued_at = at(1_700_000_000);
        d.auth_time = Some(at(1_699_990_000));
        r.insert_tokens(d, None, at(1_700_000_000)).unwrap();
        let a = r.access(&TokenId::of("t")).unwrap();
        assert_eq!(a.expires_at(), at(1_700_000_600));
        assert_eq!(a.auth_time(), Some(at(1_699_990_000)));
        assert_eq!(r.text(a.client), "c");
    }

    #[test]
    fn at_the_ceiling_opaque_tokens_are_refused_until_one_expires() {
        let mut r = Records::new(limits(2));
        r.insert_tokens(opaque("a", 100), None, at(0)).unwrap();
        r.insert_tokens(opaque("b", 200), None, at(0)).unwrap();
        let full = r.insert_tokens(opaque("c", 300), None, at(10)).unwrap_err();
        assert_eq!(full.retry_after, 90);
        assert_eq!(r.counters().refused, 1);
        assert!(!held(&r, "c"));
        // At 100 the first has expired: it makes room.
        r.insert_tokens(opaque("c", 300), None, at(100)).unwrap();
        assert!(!held(&r, "a") && held(&r, "b") && held(&r, "c"));
        assert_eq!(r.counters().expired_forgotten, 1);
    }

    #[test]
    fn at_the_ceiling_live_jwts_make_room_soonest_expiring_first_unless_revoked() {
        let mut r = Records::new(limits(3));
        r.insert_tokens(jwt("late", 500), None, at(0)).unwrap();
        r.insert_tokens(jwt("soon", 100), None, at(0)).unwrap();
        r.insert_tokens(jwt("revoked", 50), None, at(0)).unwrap();
        r.access_mut(&TokenId::of("revoked")).unwrap().revoked = true;
        r.insert_tokens(opaque("new", 900), None, at(10)).unwrap();
        assert!(held(&r, "revoked"), "a revoked token's record stays");
        assert!(!held(&r, "soon"));
        assert!(held(&r, "late") && held(&r, "new"));
        assert_eq!(r.counters().live_evicted, 1);
        assert_eq!(r.evicted_until(), Some(at(100)));
        // Expired records go before live ones: at 60 the revoked one has expired.
        r.insert_tokens(jwt("newer", 900), None, at(60)).unwrap();
        assert!(!held(&r, "revoked") && held(&r, "late"));
        // Then the live JWTs go, soonest expiring first; then only opaque
        // tokens are left, and nothing can make room.
        r.insert_tokens(opaque("last", 900), None, at(60)).unwrap();
        assert!(!held(&r, "late") && held(&r, "newer"));
        r.insert_tokens(opaque("more", 900), None, at(60)).unwrap();
        assert!(!held(&r, "newer"));
        assert!(
            r.insert_tokens(opaque("too many", 900), None, at(60))
                .is_err()
        );
        assert_eq!(r.counters().live_evicted, 3);
    }

    #[test]
    fn tokens_of_a_family_or_a_user_grant_are_never_evicted() {
        let mut r = Records::new(limits(2));
        let family = r.new_family();
        let mut a = jwt("a", 100);
        a.family = Some(family);
        r.insert_tokens(a, None, at(0)).unwrap();
        r.insert_tokens(
            access("b", TokenFormat::Jwt, Grant::AuthorizationCode, 100),
            None,
            at(0),
        )
        .unwrap();
        assert!(r.insert_tokens(jwt("c", 100), None, at(0)).is_err());
    }

    #[test]
    fn prune_forgets_what_expired_before_the_horizon_only() {
        let mut r = Records::default();
        r.insert_tokens(opaque("old", 10), None, at(0)).unwrap();
        r.insert_tokens(jwt("recent", 80), None, at(0)).unwrap();
        r.insert_tokens(opaque("live", 500), None, at(0)).unwrap();
        r.prune(at(50));
        assert!(!held(&r, "old") && held(&r, "recent") && held(&r, "live"));
        r.prune(at(100));
        assert!(!held(&r, "recent") && held(&r, "live"));
        assert_eq!(r.counters().expired_forgotten, 2);
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn families_are_revoked_at_once_and_leave_with_their_last_member() {
        let mut r = Records::default();
        let family = r.new_family();
        let refresh = RefreshDraft {
            id: TokenId::of("r"),
            client_id: "c",
            sub: "s",
            scope: "openid",
            family,
            auth_time: at(0),
            issued_at: at(0),
            expires_at: at(100),
        };
        let mut a = access("a", TokenFormat::Jwt, Grant::AuthorizationCode, 50);
        a.family = Some(family);
        r.insert_tokens(a, Some(refresh), at(0)).unwrap();
        r.revoke_family(family);
        let a = r.access(&TokenId::of("a")).unwrap();
        assert!(r.access_revoked(a));
        assert!(r.refresh_revoked(r.refresh(&TokenId::of("r")).unwrap()));
        r.prune(at(200));
        assert!(r.families.is_empty());
        assert!(r.symbols.is_empty(), "strings go with their last record");
    }

    #[test]
    fn strings_are_kept_once_and_go_with_their_last_user() {
        let mut r = Records::default();
        r.insert_tokens(opaque("a", 10), None, at(0)).unwrap();
        r.insert_tokens(opaque("b", 20), None, at(0)).unwrap();
        assert_eq!(r.symbols().len(), 3, "client, scope, audience");
        r.prune(at(10));
        assert_eq!(r.symbols().len(), 3);
        r.prune(at(20));
        assert_eq!(r.symbols().len(), 0);
        r.insert_tokens(opaque("c", 30), None, at(0)).unwrap();
        assert_eq!(
            r.text(r.access(&TokenId::of("c")).unwrap().scope),
            "orders:read"
        );
    }

    #[test]
    fn a_record_filed_again_leaves_a_stale_entry_that_is_skipped() {
        let mut r = Records::default();
        r.insert_tokens(jwt("t", 10), None, at(0)).unwrap();
        let mut again = jwt("t", 10);
        again.revoked = true;
        r.insert_tokens(again, None, at(0)).unwrap();
        assert_eq!(r.len(), 1);
        assert!(r.access(&TokenId::of("t")).unwrap().revoked);
        r.prune(at(10));
        assert_eq!(r.len(), 0);
        assert_eq!(r.symbols().len(), 0);
    }

    #[derive(Debug)]
    struct Thing(Instant);
    impl Expires for Thing {
        fn expires_at(&self) -> Instant {
            self.0
        }
    }

    #[test]
    fn expiring_maps_forget_the_expired_and_cap_the_rest() {
        let mut m = Expiring::new(2);
        m.insert(TokenId::of("a"), Thing(at(100)));
        m.insert(TokenId::of("b"), Thing(at(50)));
        m.insert(TokenId::of("c"), Thing(at(200)));
        assert!(
            m.get(&TokenId::of("b")).is_none(),
            "closest to its end went"
        );
        assert_eq!(m.len(), 2);
        m.prune(at(100));
        assert!(m.get(&TokenId::of("a")).is_none());
        assert!(m.get(&TokenId::of("c")).is_some());
        m.remove(&TokenId::of("c"));
        m.prune(at(1000));
        assert!(m.index.is_empty());
    }
}
