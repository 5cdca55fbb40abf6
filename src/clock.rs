//! One controllable clock, shared by every party, and the [`Instant`]s it
//! reads.
//!
//! Every expiry decision (authorization codes, tokens, sessions, `state`
//! values) reads [`Clock::now`]. Tests and the admin API move it forward with
//! [`Clock::advance`] instead of sleeping, so an expiry scenario takes
//! microseconds and is deterministic.
//!
//! A time on this clock is an [`Instant`], never a bare integer: an instant
//! plus a [`Duration`] is an instant, two instants give the seconds between
//! them, and an instant becomes seconds since the Unix epoch only where a
//! wire or a store wants that (JWT `iat`/`exp`, JSON fields, SQLite columns).

use std::fmt;
use std::ops::{Add, Sub};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A time on the shared clock: whole seconds since the Unix epoch, as
/// [`Clock::now`] reads them. Serialised as that integer.
///
/// Arithmetic saturates at [`Instant::MIN`] and [`Instant::MAX`]: a
/// lifetime too long to represent means "never", not a wrap into the past.
/// Only the whole seconds of a [`Duration`] count.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Instant(i64);

impl Instant {
    /// The earliest instant: before anything happened.
    pub const MIN: Instant = Instant(i64::MIN);
    /// The latest instant: never reached.
    pub const MAX: Instant = Instant(i64::MAX);
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Instant = Instant(0);

    /// The instant `secs` seconds after the Unix epoch (before it when
    /// negative), as a JWT `exp` or a stored column gives it.
    pub const fn from_unix_secs(secs: i64) -> Self {
        Self(secs)
    }

    /// Seconds since the Unix epoch, for a wire or a store.
    pub const fn unix_secs(self) -> i64 {
        self.0
    }

    /// This instant moved `by` later, or [`Instant::MAX`] past it.
    pub fn saturating_add(self, by: Duration) -> Self {
        Self::clamped(i128::from(self.0) + i128::from(by.as_secs()))
    }

    /// This instant moved `by` earlier, or [`Instant::MIN`] before it.
    pub fn saturating_sub(self, by: Duration) -> Self {
        Self::clamped(i128::from(self.0) - i128::from(by.as_secs()))
    }

    /// `secs` as an instant, or the end of the range it is past.
    fn clamped(secs: i128) -> Self {
        Self(i64::try_from(secs).unwrap_or(if secs < 0 { i64::MIN } else { i64::MAX }))
    }

    /// Seconds from `earlier` to this instant: negative when `earlier` is
    /// in fact later; saturating at the ends of `i64`.
    pub fn secs_since(self, earlier: Instant) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// How long after `earlier` this instant is, or zero when it is not
    /// after it.
    pub fn duration_since(self, earlier: Instant) -> Duration {
        Duration::from_secs(u64::try_from(self.secs_since(earlier)).unwrap_or(0))
    }
}

/// A duration of `secs` seconds as a configuration gives it (`*_secs`
/// settings are signed integers); a negative count is no time at all.
pub fn secs(secs: i64) -> Duration {
    Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// Whole seconds of a duration, as far as an `i64` reaches.
fn secs_of(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Saturating, like [`Instant::saturating_add`].
impl Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, by: Duration) -> Instant {
        self.saturating_add(by)
    }
}

/// Saturating, like [`Instant::saturating_sub`].
impl Sub<Duration> for Instant {
    type Output = Instant;

    fn sub(self, by: Duration) -> Instant {
        self.saturating_sub(by)
    }
}

/// Seconds since the Unix epoch, like the integer it stands for (a
/// message or a `Debug` dump reads as it did with a bare `i64`).
impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Seconds since the Unix epoch, as the wire carries them.
impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// System time plus an adjustable offset, or (for tests) a time that moves
/// only when moved. Cloning shares both.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
    /// When set, the time it stands at (before the offset) instead of
    /// system time.
    frozen_at: Option<i64>,
}

fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Clock {
    /// A clock that reads system time with no offset.
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock that stands at system time now and moves only by
    /// [`Clock::advance`]: a scenario that moves it to one second before an
    /// expiry is not overtaken by real seconds passing while it runs.
    pub fn frozen() -> Self {
        Self {
            offset_secs: Arc::default(),
            frozen_at: Some(system_now()),
        }
    }

    /// Now, as this clock sees it.
    pub fn now(&self) -> Instant {
        Instant(
            self.frozen_at
                .unwrap_or_else(system_now)
                .saturating_add(self.offset()),
        )
    }

    /// Move the clock forward. Moving it backwards is not offered: an
    /// authorization server whose clock goes back is a different test.
    /// Returns the new now.
    pub fn advance(&self, by: Duration) -> Instant {
        self.offset_secs.fetch_add(secs_of(by), Ordering::SeqCst);
        self.now()
    }

    /// How far this clock is ahead of system time, in seconds.
    pub fn offset(&self) -> i64 {
        self.offset_secs.load(Ordering::SeqCst)
    }

    /// Back to system time.
    pub fn reset(&self) {
        self.offset_secs.store(0, Ordering::SeqCst);
    }
}

/// The clock as rustls's notion of now, so certificate validity in TLS
/// handshakes (either side) is judged on the shared clock.
impl rustls::time_provider::TimeProvider for Clock {
    fn current_time(&self) -> Option<rustls_pki_types::UnixTime> {
        let secs = u64::try_from(self.now().unix_secs()).ok()?;
        Some(rustls_pki_types::UnixTime::since_unix_epoch(
            Duration::from_secs(secs),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(secs: i64) -> Instant {
        Instant::from_unix_secs(secs)
    }

    #[test]
    fn a_frozen_clock_moves_only_when_moved() {
        let clock = Clock::frozen();
        let at = Instant(clock.frozen_at.expect("frozen"));
        assert_eq!(clock.now(), at);
        let moved = clock.clone().advance(Duration::from_secs(5));
        assert_eq!(moved, at + Duration::from_secs(5));
        assert_eq!(clock.now(), moved);
        assert_eq!(clock.now().secs_since(at), 5);
    }

    #[test]
    fn advance_moves_every_clone() {
        let clock = Clock::new();
        let other = clock.clone();
        let before = other.now();
        clock.advance(Duration::from_secs(3600));
        assert!(other.now() >= before + Duration::from_secs(3600));
        assert_eq!(other.offset(), 3600);
        other.reset();
        assert_eq!(clock.offset(), 0);
    }

    #[test]
    fn the_time_provider_reads_the_moved_clock() {
        use rustls::time_provider::TimeProvider as _;
        let clock = Clock::frozen();
        let now = clock.advance(Duration::from_secs(86_400));
        let seen = clock.current_time().expect("after the epoch");
        assert_eq!(seen.as_secs(), u64::try_from(now.unix_secs()).unwrap());
    }

    #[test]
    fn arithmetic_saturates_at_the_ends() {
        let forever = Duration::from_secs(u64::MAX);
        assert_eq!(at(0) + forever, Instant::MAX);
        assert_eq!(at(i64::MAX - 1) + Duration::from_secs(2), Instant::MAX);
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(at(0) - forever, Instant::MIN);
        assert_eq!(
            at(i64::MIN + 1).saturating_sub(Duration::from_secs(2)),
            Instant::MIN
        );
        assert_eq!(Instant::MIN - Duration::from_secs(1), Instant::MIN);
        assert_eq!(Instant::MAX.secs_since(Instant::MIN), i64::MAX);
        assert_eq!(Instant::MIN.secs_since(Instant::MAX), i64::MIN);
        assert_eq!(Instant::MIN.duration_since(Instant::MAX), Duration::ZERO);
        assert_eq!(
            Instant::MAX.duration_since(Instant::MIN),
            Duration::from_secs(i64::MAX as u64)
        );
    }

    #[test]
    fn configured_seconds_are_never_negative() {
        assert_eq!(secs(90), Duration::from_secs(90));
        assert_eq!(secs(0), Duration::ZERO);
        assert_eq!(secs(-1), Duration::ZERO);
        assert_eq!(at(5) + secs(i64::MIN), at(5));
    }

    #[test]
    fn sub_seconds_do_not_count() {
        assert_eq!(at(10) + Duration::from_millis(1999), at(11));
        assert_eq!(at(10) - Duration::from_millis(999), at(10));
    }

    #[test]
    fn the_wire_form_is_the_integer() {
        assert_eq!(
            serde_json::to_string(&at(1_700_000_000)).unwrap(),
            "1700000000"
        );
        assert_eq!(serde_json::from_str::<Instant>("-5").unwrap(), at(-5));
        assert_eq!(at(42).to_string(), "42");
        assert_eq!(format!("{:?}", Some(at(42))), "Some(42)");
        assert_eq!(at(42).unix_secs(), 42);
    }

    proptest! {
        #[test]
        fn adding_then_measuring_gives_the_duration_back(
            start in -(1i64 << 40)..(1i64 << 40),
            secs in 0u64..(1u64 << 40),
        ) {
            let then = at(start) + Duration::from_secs(secs);
            prop_assert_eq!(then.secs_since(at(start)), secs as i64);
            prop_assert_eq!(then.duration_since(at(start)), Duration::from_secs(secs));
            prop_assert_eq!(then - Duration::from_secs(secs), at(start));
            prop_assert!(then >= at(start));
        }

        #[test]
        fn saturating_arithmetic_agrees_with_wide_integers(
            start in any::<i64>(),
            secs in any::<u64>(),
        ) {
            let clamp = |v: i128| v.clamp(i64::MIN.into(), i64::MAX.into()) as i64;
            let d = Duration::from_secs(secs);
            let s = i128::from(secs);
            prop_assert_eq!((at(start) + d).unix_secs(), clamp(i128::from(start) + s));
            prop_assert_eq!((at(start) - d).unix_secs(), clamp(i128::from(start) - s));
            prop_assert!(at(start) + d >= at(start));
            prop_assert!(at(start) - d <= at(start));
        }

        #[test]
        fn secs_since_is_antisymmetric_where_it_fits(
            a in -(1i64 << 62)..(1i64 << 62),
            b in -(1i64 << 62)..(1i64 << 62),
        ) {
            prop_assert_eq!(at(a).secs_since(at(b)), -at(b).secs_since(at(a)));
            prop_assert_eq!(at(a).secs_since(at(b)), a - b);
            let d = at(a).duration_since(at(b));
            prop_assert_eq!(d.is_zero(), a <= b);
        }
    }
}
