//! One controllable clock, shared by every party.
//!
//! Every expiry decision (authorization codes, tokens, sessions, `state`
//! values) reads [`Clock::now`]. Tests and the admin API move it forward with
//! [`Clock::advance`] instead of sleeping, so an expiry scenario takes
//! microseconds and is deterministic.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// System time plus an adjustable offset. Cloning shares the offset.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    /// A clock that reads system time with no offset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Seconds since the Unix epoch, as this clock sees them.
    pub fn now(&self) -> i64 {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        system.saturating_add(self.offset())
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
