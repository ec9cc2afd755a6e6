//! A fixed-size, lock-free ring of the most recent durations, and the statistics read from it.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// The last `capacity` durations of one operation, in nanoseconds.
///
/// Writers never block each other or readers: a slot is claimed with one atomic add and then
/// stored. A reader copies the slots, so a snapshot taken while writers run may mix a few
/// samples from neighbouring instants, which is fine for rolling statistics.
#[derive(Debug)]
pub struct RollingWindow {
    slots: Box<[AtomicU64]>,
    written: AtomicU64,
}

impl RollingWindow {
    /// A window holding the last `capacity` samples (at least one).
    pub fn new(capacity: usize) -> Self {
        let slots = (0..capacity.max(1)).map(|_| AtomicU64::new(0)).collect();
        Self {
            slots,
            written: AtomicU64::new(0),
        }
    }

    /// How many samples the window holds when full.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Records a batch of samples with a single atomic claim.
    pub fn record_all(&self, nanos: &[u64]) {
        if nanos.is_empty() {
            return;
        }
        let start = self
            .written
            .fetch_add(nanos.len() as u64, Ordering::Relaxed);
        let cap = self.slots.len() as u64;
        // Only the last `cap` samples of a batch can survive; skip the rest.
        let skip = nanos.len().saturating_sub(self.slots.len());
        for (offset, &value) in nanos.iter().enumerate().skip(skip) {
            let slot = (start + offset as u64) % cap;
            self.slots[slot as usize].store(value, Ordering::Relaxed);
        }
    }

    /// Copies the samples currently held (oldest order is not kept).
    pub fn samples(&self) -> Vec<u64> {
        let filled = self
            .written
            .load(Ordering::Relaxed)
            .min(self.slots.len() as u64) as usize;
        self.slots[..filled]
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .collect()
    }

    /// Mean, percentiles and maximum of the samples held, in milliseconds.
    pub fn stats(&self) -> DurationStats {
        DurationStats::from_nanos(self.samples())
    }
}

/// Statistics over a rolling window of durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct DurationStats {
    /// Number of samples the statistics are computed from.
    pub samples: usize,
    /// Arithmetic mean.
    pub avg_ms: f64,
    /// Median (nearest rank).
    pub p50_ms: f64,
    /// 95th percentile (nearest rank).
    pub p95_ms: f64,
    /// 99th percentile (nearest rank).
    pub p99_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
}

impl DurationStats {
    /// Computes the statistics of `nanos`; all zero when it is empty.
    pub fn from_nanos(mut nanos: Vec<u64>) -> Self {
        if nanos.is_empty() {
            return Self::default();
        }
        nanos.sort_unstable();
        let ms = |n: u64| n as f64 / 1e6;
        let rank = |q: f64| {
            let idx = (q * nanos.len() as f64).ceil() as usize;
            ms(nanos[idx.clamp(1, nanos.len()) - 1])
        };
        let sum: u128 = nanos.iter().map(|&n| u128::from(n)).sum();
        Self {
            samples: nanos.len(),
            avg_ms: sum as f64 / nanos.len() as f64 / 1e6,
            p50_ms: rank(0.50),
            p95_ms: rank(0.95),
            p99_ms: rank(0.99),
            max_ms: ms(nanos[nanos.len() - 1]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    #[test]
    fn keeps_only_the_last_capacity_samples() {
        let w = RollingWindow::new(3);
        w.record_all(&[1, 2]);
        w.record_all(&[3, 4, 5, 6, 7]);
        let mut s = w.samples();
        s.sort_unstable();
        assert_eq!(s, vec![5, 6, 7]);
    }

    #[test]
    fn stats_use_nearest_rank() {
        let nanos: Vec<u64> = (1..=100).map(|i| i * 1_000_000).collect();
        let s = DurationStats::from_nanos(nanos);
        assert_eq!(s.samples, 100);
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p95_ms, 95.0);
        assert_eq!(s.p99_ms, 99.0);
        assert_eq!(s.max_ms, 100.0);
        assert!((s.avg_ms - 50.5).abs() < 1e-9);
    }

    #[test]
    fn empty_window_gives_zeroes() {
        assert_eq!(RollingWindow::new(10).stats(), DurationStats::default());
    }

    proptest! {
        #[test]
        fn window_matches_the_tail_of_everything_recorded(
            cap in 1usize..50,
            batches in vec(vec(0u64..1000, 0..20), 0..20),
        ) {
            let w = RollingWindow::new(cap);
            let mut all = Vec::new();
            for b in &batches {
                w.record_all(b);
                all.extend_from_slice(b);
            }
            let mut expected: Vec<u64> = all.iter().rev().take(cap).copied().collect();
            expected.sort_unstable();
            let mut got = w.samples();
            got.sort_unstable();
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn percentiles_are_ordered_and_bounded(
            nanos in vec(0u64..10_000_000_000, 1..500),
        ) {
            let s = DurationStats::from_nanos(nanos.clone());
            let min = *nanos.iter().min().unwrap() as f64 / 1e6;
            prop_assert!(min <= s.p50_ms && s.p50_ms <= s.p95_ms);
            prop_assert!(s.p95_ms <= s.p99_ms && s.p99_ms <= s.max_ms);
            prop_assert!(s.avg_ms >= min - 1e-9 && s.avg_ms <= s.max_ms + 1e-9);
        }
    }
}
