//! Pipeline-level accounting: every received message ends completed, failed or filtered.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Counters that track each message from receipt to its end.
///
/// `in_flight` is never stored: it is `received - completed - failed - filtered`, and a
/// snapshot reads the three outcomes before `received` so it is never negative.
#[derive(Debug, Default)]
pub struct Completion {
    received: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    filtered: AtomicU64,
    lost: AtomicU64,
}

impl Completion {
    /// `count` messages entered the pipeline.
    pub fn received(&self, count: u64) {
        self.received.fetch_add(count, Ordering::Relaxed);
    }

    /// `count` messages were exported by every sink.
    pub fn completed(&self, count: u64) {
        self.completed.fetch_add(count, Ordering::Release);
    }

    /// `count` messages failed and were handed to the dead-letter output.
    pub fn failed(&self, count: u64) {
        self.failed.fetch_add(count, Ordering::Release);
    }

    /// `count` messages were dropped on purpose by a filter.
    pub fn filtered(&self, count: u64) {
        self.filtered.fetch_add(count, Ordering::Release);
    }

    /// `count` failed messages could not be written to the dead-letter file. They are also
    /// counted as failed; this says their dead-letter entry is missing.
    pub fn lost(&self, count: u64) {
        self.lost.fetch_add(count, Ordering::Relaxed);
    }

    /// A consistent-enough reading of the counters.
    pub fn snapshot(&self) -> CompletionSnapshot {
        let completed = self.completed.load(Ordering::Acquire);
        let failed = self.failed.load(Ordering::Acquire);
        let filtered = self.filtered.load(Ordering::Acquire);
        let received = self.received.load(Ordering::Acquire);
        let done = completed + failed + filtered;
        CompletionSnapshot {
            received,
            completed,
            failed,
            filtered,
            in_flight: received.saturating_sub(done),
            lost: self.lost.load(Ordering::Acquire),
        }
    }
}

/// The completion counters at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CompletionSnapshot {
    /// Messages received from ZeroMQ.
    pub received: u64,
    /// Messages written by every sink.
    pub completed: u64,
    /// Messages that failed in some domain and went to the dead-letter output.
    pub failed: u64,
    /// Messages dropped on purpose by a filter.
    pub filtered: u64,
    /// Messages received but not yet at one of the three ends above.
    pub in_flight: u64,
    /// Failed messages whose dead-letter entry could not be written (a part of `failed`).
    pub lost: u64,
}
