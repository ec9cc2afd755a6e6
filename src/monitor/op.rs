//! Counters of one `(domain, operation)` pair, and the per-batch recorder that feeds them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::window::{DurationStats, RollingWindow};
use crate::domain::ErrorType;

/// Everything the monitor keeps for one `(domain, operation)` pair.
#[derive(Debug)]
pub struct OpStats {
    domain: String,
    operation: String,
    successes: AtomicU64,
    errors: [AtomicU64; ErrorType::COUNT],
    window: RollingWindow,
}

impl OpStats {
    pub(super) fn new(domain: &str, operation: &str, window: usize) -> Self {
        Self {
            domain: domain.to_owned(),
            operation: operation.to_owned(),
            successes: AtomicU64::new(0),
            errors: std::array::from_fn(|_| AtomicU64::new(0)),
            window: RollingWindow::new(window),
        }
    }

    /// The domain name.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The operation name.
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// Successful operations so far.
    pub fn successes(&self) -> u64 {
        self.successes.load(Ordering::Relaxed)
    }

    /// Failed operations of type `error_type` so far.
    pub fn errors_of(&self, error_type: ErrorType) -> u64 {
        self.errors[error_type.index()].load(Ordering::Relaxed)
    }

    /// Failed operations of every type so far.
    pub fn errors(&self) -> u64 {
        self.errors.iter().map(|e| e.load(Ordering::Relaxed)).sum()
    }

    /// Statistics of the rolling duration window.
    pub fn durations(&self) -> DurationStats {
        self.window.stats()
    }
}

/// A cheap, cloneable handle to one operation's counters, registered once at build time.
#[derive(Debug, Clone)]
pub struct OpHandle(pub(super) Arc<OpStats>);

impl OpHandle {
    /// Records one success that took `duration`.
    pub fn success(&self, duration: Duration) {
        self.0.successes.fetch_add(1, Ordering::Relaxed);
        self.0.window.record_all(&[duration_nanos(duration)]);
    }

    /// Records `count` successes whose durations are not meaningful (for example receives).
    pub fn successes_untimed(&self, count: u64) {
        self.0.successes.fetch_add(count, Ordering::Relaxed);
    }

    /// Records `count` failures of type `error_type`.
    pub fn errors(&self, error_type: ErrorType, count: u64) {
        self.0.errors[error_type.index()].fetch_add(count, Ordering::Relaxed);
    }

    /// The counters behind this handle.
    pub fn stats(&self) -> &OpStats {
        &self.0
    }
}

/// Collects one batch worth of outcomes locally, then publishes them with a few atomic adds.
///
/// The buffers are reused from batch to batch, so recording allocates nothing once warm.
#[derive(Debug)]
pub struct BatchRecorder {
    handle: OpHandle,
    successes: u64,
    durations: Vec<u64>,
    errors: [u64; ErrorType::COUNT],
}

impl BatchRecorder {
    /// A recorder that publishes into `handle`.
    pub fn new(handle: OpHandle) -> Self {
        Self {
            handle,
            successes: 0,
            durations: Vec::new(),
            errors: [0; ErrorType::COUNT],
        }
    }

    /// Notes one success that took `duration`.
    pub fn success(&mut self, duration: Duration) {
        self.successes += 1;
        self.durations.push(duration_nanos(duration));
    }

    /// Notes one failure of type `error_type`.
    pub fn error(&mut self, error_type: ErrorType) {
        self.errors[error_type.index()] += 1;
    }

    /// Publishes what was noted since the last call and resets the local counts.
    pub fn publish(&mut self) {
        let stats = &self.handle.0;
        if self.successes > 0 {
            stats.successes.fetch_add(self.successes, Ordering::Relaxed);
            stats.window.record_all(&self.durations);
        }
        for (slot, count) in stats.errors.iter().zip(self.errors.iter_mut()) {
            if *count > 0 {
                slot.fetch_add(*count, Ordering::Relaxed);
                *count = 0;
            }
        }
        self.successes = 0;
        self.durations.clear();
    }
}

fn duration_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}
