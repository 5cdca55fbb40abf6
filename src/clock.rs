//! One controllable clock, shared by every party.
//!
//! Every expiry decision (authorization codes, tokens, sessions, `state`
//! values) reads [`Clock::now`]. Tests and the admin API move it forward with
//! [`Clock::advance`] instead of sleeping, so an expiry scenario takes
//! microseconds and is deterministic.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

    /// Seconds since the Unix epoch, as this clock sees them.
    pub fn now(&self) -> i64 {
        self.frozen_at
            .unwrap_or_else(system_now)
            .saturating_add(self.offset())
    }

    /// Move the clock forward. Moving it backwards is not offered: an
    /// authorization server whose clock goes back is a different test.
    pub fn advance(&self, by: Duration) -> i64 {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.offset_secs.fetch_add(secs, Ordering::SeqCst);
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
        let secs = u64::try_from(self.now()).ok()?;
        Some(rustls_pki_types::UnixTime::since_unix_epoch(
            Duration::from_secs(secs),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frozen_clock_moves_only_when_moved() {
        let clock = Clock::frozen();
        let at = clock.frozen_at.expect("frozen");
        assert_eq!(clock.now(), at);
        assert_eq!(clock.clone().advance(Duration::from_secs(5)), at + 5);
        assert_eq!(clock.now(), at + 5);
    }

    #[test]
    fn advance_moves_every_clone() {
        let clock = Clock::new();
        let other = clock.clone();
        let before = other.now();
        clock.advance(Duration::from_secs(3600));
        assert!(other.now() >= before + 3600);
        assert_eq!(other.offset(), 3600);
        other.reset();
        assert_eq!(clock.offset(), 0);
    }
}
