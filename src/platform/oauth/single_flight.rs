//! One token request at a time per holder of a token: the platform's one
//! single flight, used by the OAuth 2.0 credential kinds and Third-party
//! NLU credentials (key: organisation and credential name) and by consumer
//! sessions (key: organisation and consumer id).
//!
//! Whoever holds a key's [`Flight`] is the only one asking the token
//! endpoint for that holder; the others wait, then re-read what the one
//! before them stored (it may be fresh now) before asking themselves. A
//! key's lock lives while someone holds or waits for it, and is dropped
//! with the last flight, so the map does not grow with every credential or
//! consumer ever seen.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

type Locks<K> = Arc<Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>>;

/// The flights by key. Cloning shares them. The std mutex guards the map
/// only and is never held across an `.await`; a key's lock is a tokio
/// mutex, held across the token request on purpose.
pub struct SingleFlight<K> {
    locks: Locks<K>,
}

impl<K> Clone for SingleFlight<K> {
    fn clone(&self) -> Self {
        Self {
            locks: self.locks.clone(),
        }
    }
}

impl<K> Default for SingleFlight<K> {
    fn default() -> Self {
        Self {
            locks: Arc::default(),
        }
    }
}

impl<K> std::fmt::Debug for SingleFlight<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingleFlight")
            .field("keys", &self.locks.lock().map(|m| m.len()).unwrap_or(0))
            .finish()
    }
}

/// The flight of one key, held until dropped.
pub struct Flight<K: Eq + Hash> {
    guard: Option<OwnedMutexGuard<()>>,
    key: Option<K>,
    locks: Locks<K>,
}

impl<K: Eq + Hash + Clone> SingleFlight<K> {
    /// Wait for, then hold, the flight of `key`.
    pub async fn enter(&self, key: K) -> Flight<K> {
        let lock = self
            .locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        Flight {
            guard: Some(lock.lock_owned().await),
            key: Some(key),
            locks: self.locks.clone(),
        }
    }

    /// How many keys have a flight held or awaited.
    pub fn len(&self) -> usize {
        self.locks.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Eq + Hash> Drop for Flight<K> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let Some(key) = self.key.take() else {
            return;
        };
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        // Only the map holds it: nobody holds or waits for this key (a
        // waiter clones the lock under the map's mutex, held here).
        if locks.get(&key).is_some_and(|l| Arc::strong_count(l) == 1) {
            locks.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn one_flight_per_key_at_a_time_and_the_map_empties() {
        let flights: SingleFlight<&str> = SingleFlight::default();
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (flights, inside, most) = (flights.clone(), inside.clone(), most.clone());
                tokio::spawn(async move {
                    let _f = flights.enter("a").await;
                    let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        assert!(flights.is_empty());
    }

    #[tokio::test]
    async fn other_keys_do_not_wait() {
        let flights: SingleFlight<&str> = SingleFlight::default();
        let _a = flights.enter("a").await;
        let b = tokio::time::timeout(Duration::from_secs(1), flights.enter("b")).await;
        assert!(b.is_ok());
        assert_eq!(flights.len(), 2);
    }
}
