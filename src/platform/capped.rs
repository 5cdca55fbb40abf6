//! A log that keeps only its newest entries: a conversation's transcript
//! and its event log ([`crate::platform::conversations::ConversationLimits`]).
//!
//! At most `cap` entries are kept; appending one more drops the oldest,
//! and the log counts what it dropped, so a reader can say how many
//! earlier entries are no longer kept. Each entry has a sequence number,
//! its place among all entries ever appended (the first is 0): it stays
//! the same while older entries are dropped, so pages can use it for
//! stable element ids. The log also keeps the sum of its entries' sizes
//! ([`Weigh`]), so its owner can hold a memory budget.

use std::collections::VecDeque;

use serde::{Serialize, Serializer};

/// About how many bytes an entry takes in memory, its heap data included.
pub trait Weigh {
    fn weight(&self) -> usize;
}

/// The newest `cap` entries of a log, and how many older ones were dropped.
#[derive(Clone, Debug)]
pub struct Capped<T> {
    /// Each entry with its weight, oldest first.
    entries: VecDeque<(usize, T)>,
    cap: usize,
    dropped: u64,
    bytes: usize,
}

impl<T: Weigh> Capped<T> {
    /// An empty log keeping at most `cap` entries (0 keeps none, and only
    /// counts).
    pub fn new(cap: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            cap,
            dropped: 0,
            bytes: 0,
        }
    }

    /// Append `entry`, dropping the oldest ones beyond the cap; returns
    /// the entry's sequence number.
    pub fn push(&mut self, entry: T) -> u64 {
        let seq = self.appended();
        let weight = entry.weight();
        self.entries.push_back((weight, entry));
        self.bytes += weight;
        while self.entries.len() > self.cap {
            let Some((weight, _)) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= weight;
            self.dropped += 1;
        }
        seq
    }
}

impl<T> Capped<T> {
    /// The entries kept, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.entries.iter().map(|(_, e)| e)
    }

    /// The entries kept with their sequence numbers, oldest first.
    pub fn numbered(&self) -> impl DoubleEndedIterator<Item = (u64, &T)> + ExactSizeIterator {
        let first = self.dropped;
        self.entries
            .iter()
            .enumerate()
            .map(move |(i, (_, e))| (first + i as u64, e))
    }

    /// Entries kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Earlier entries no longer kept.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Entries ever appended: those kept and those dropped.
    pub fn appended(&self) -> u64 {
        self.dropped + self.entries.len() as u64
    }

    /// The sum of the kept entries' weights.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// As the list of the entries kept.
impl<T: Serialize> Serialize for Capped<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// "1 earlier message is", "3 earlier events are": the start of the line
/// that says what a log no longer keeps.
pub fn earlier(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 earlier {what} is")
    } else {
        format!("{n} earlier {what}s are")
    }
}

/// Counts the bytes written to it: the length of a value's JSON, without
/// building the JSON.
#[derive(Default)]
pub struct ByteCount(pub usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The length of `value` as JSON (0 if it does not serialise).
pub fn json_len(value: &impl Serialize) -> usize {
    let mut count = ByteCount::default();
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    impl Weigh for u32 {
        fn weight(&self) -> usize {
            *self as usize
        }
    }

    #[test]
    fn keeps_the_newest_and_counts_the_dropped() {
        let mut log = Capped::new(3);
        for (i, n) in [10u32, 20, 30, 40, 50].into_iter().enumerate() {
            assert_eq!(log.push(n), i as u64);
        }
        assert_eq!(log.iter().copied().collect::<Vec<_>>(), [30, 40, 50]);
        assert_eq!(log.dropped(), 2);
        assert_eq!(log.appended(), 5);
        assert_eq!(log.bytes(), 120);
        assert_eq!(
            log.numbered().map(|(s, &n)| (s, n)).collect::<Vec<_>>(),
            [(2, 30), (3, 40), (4, 50)]
        );
        assert_eq!(serde_json::to_string(&log).unwrap(), "[30,40,50]");
    }

    #[test]
    fn a_cap_of_zero_keeps_nothing_and_counts_everything() {
        let mut log = Capped::new(0);
        log.push(7u32);
        log.push(8u32);
        assert!(log.is_empty());
        assert_eq!((log.dropped(), log.appended(), log.bytes()), (2, 2, 0));
    }

    #[test]
    fn json_len_is_the_length_of_the_json() {
        let v = serde_json::json!({"kind": "x", "n": [1, 2, 3]});
        assert_eq!(json_len(&v), serde_json::to_string(&v).unwrap().len());
    }

    proptest! {
        /// Whatever is appended: never more than the cap, kept and dropped
        /// add up to what was appended, the newest are the ones kept, and
        /// the weight is that of the kept entries.
        #[test]
        fn never_above_the_cap_and_nothing_uncounted(
            cap in 0usize..20,
            entries in proptest::collection::vec(0u32..1000, 0..200),
        ) {
            let mut log = Capped::new(cap);
            for (i, &e) in entries.iter().enumerate() {
                prop_assert_eq!(log.push(e), i as u64);
                prop_assert!(log.len() <= cap);
                prop_assert_eq!(log.len() as u64 + log.dropped(), i as u64 + 1);
            }
            let kept = entries.len().min(cap);
            let newest = &entries[entries.len() - kept..];
            prop_assert_eq!(log.iter().copied().collect::<Vec<_>>(), newest);
            prop_assert_eq!(log.bytes(), newest.iter().map(|&n| n as usize).sum::<usize>());
            for (seq, &e) in log.numbered() {
                prop_assert_eq!(entries[seq as usize], e);
            }
        }
    }
}
