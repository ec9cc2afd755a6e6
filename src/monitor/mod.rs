//! The monitor: one place that counts successes, typed errors and rolling durations for every
//! `(domain, operation)` pair, and the completion of every message.

mod completion;
mod observer;
mod op;
mod snapshot;
mod window;

use std::sync::{Arc, RwLock};
use std::time::Instant;

pub use completion::{Completion, CompletionSnapshot};
pub use observer::MonitorEvent;
pub use op::{BatchRecorder, OpHandle, OpStats};
pub use snapshot::{OpSnapshot, Snapshot};
pub use window::{DurationStats, RollingWindow};

/// Default number of durations kept per operation, as in the seed design.
pub const DEFAULT_WINDOW: usize = 1000;

/// The central monitor shared by every domain.
///
/// Domains register their operations once, at build time, and record through the returned
/// [`OpHandle`]s; the per-message path takes no lock and allocates nothing.
///
/// ```
/// use std::time::Duration;
/// use zeropipe::domain::ErrorType;
/// use zeropipe::monitor::Monitor;
///
/// let monitor = Monitor::new(1000);
/// let handle = monitor.register("process", "handle");
/// handle.success(Duration::from_micros(420));
/// handle.errors(ErrorType::InvalidJson, 1);
///
/// let snapshot = monitor.snapshot();
/// assert_eq!(snapshot.counts["process.handle"], 1);
/// assert_eq!(snapshot.errors["process.handle"], 1);
/// assert!((snapshot.avg_duration["process.handle"] - 0.42).abs() < 1e-9);
/// ```
#[derive(Debug)]
pub struct Monitor {
    window: usize,
    ops: RwLock<Vec<Arc<OpStats>>>,
    completion: Completion,
    started: Instant,
}

impl Monitor {
    /// A monitor whose rolling windows hold `window` durations each.
    pub fn new(window: usize) -> Self {
        Self {
            window: window.max(1),
            ops: RwLock::new(Vec::new()),
            completion: Completion::default(),
            started: Instant::now(),
        }
    }

    /// Returns the handle of `(domain, operation)`, creating its counters on first use.
    pub fn register(&self, domain: &str, operation: &str) -> OpHandle {
        if let Some(found) = self.find(domain, operation) {
            return OpHandle(found);
        }
        let mut ops = self.ops.write().unwrap_or_else(|e| e.into_inner());
        let existing = ops
            .iter()
            .find(|s| s.domain() == domain && s.operation() == operation);
        if let Some(found) = existing {
            return OpHandle(Arc::clone(found));
        }
        let stats = Arc::new(OpStats::new(domain, operation, self.window));
        ops.push(Arc::clone(&stats));
        OpHandle(stats)
    }

    /// The pipeline completion counters.
    pub fn completion(&self) -> &Completion {
        &self.completion
    }

    /// Records an event in the seed's wire format; the slow path for observers outside the
    /// pipeline, which looks the operation up by name.
    pub fn observe(&self, event: &MonitorEvent) {
        event.apply(self);
    }

    /// Seconds since the monitor was created.
    pub fn uptime_seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> Snapshot {
        let ops = self.ops.read().unwrap_or_else(|e| e.into_inner()).clone();
        Snapshot::build(self.uptime_seconds(), &ops, self.completion.snapshot())
    }

    fn find(&self, domain: &str, operation: &str) -> Option<Arc<OpStats>> {
        let ops = self.ops.read().unwrap_or_else(|e| e.into_inner());
        ops.iter()
            .find(|s| s.domain() == domain && s.operation() == operation)
            .cloned()
    }
}

impl Default for Monitor {
    fn default() -> Self {
        Self::new(DEFAULT_WINDOW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ErrorType;
    use std::time::Duration;

    #[test]
    fn register_returns_the_same_counters_for_the_same_key() {
        let m = Monitor::new(10);
        let a = m.register("process", "handle");
        let b = m.register("process", "handle");
        a.successes_untimed(2);
        b.successes_untimed(3);
        assert_eq!(m.snapshot().counts["process.handle"], 5);
        assert_eq!(m.snapshot().ops.len(), 1);
    }

    #[test]
    fn batch_recorder_publishes_counts_errors_and_durations() {
        let m = Monitor::new(10);
        let mut rec = BatchRecorder::new(m.register("collect", "handle"));
        rec.success(Duration::from_millis(2));
        rec.success(Duration::from_millis(4));
        rec.error(ErrorType::TooLarge);
        assert_eq!(
            m.snapshot().counts["collect.handle"],
            0,
            "nothing before publish"
        );
        rec.publish();
        rec.publish();
        let s = m.snapshot();
        assert_eq!(s.counts["collect.handle"], 2);
        assert_eq!(s.errors["collect.handle"], 1);
        assert_eq!(s.error_types["collect.handle"]["too_large"], 1);
        assert!((s.avg_duration["collect.handle"] - 3.0).abs() < 1e-9);
        assert_eq!(s.durations["collect.handle"].max_ms, 4.0);
    }

    #[test]
    fn in_flight_is_received_minus_outcomes() {
        let m = Monitor::default();
        m.completion().received(10);
        m.completion().completed(6);
        m.completion().failed(2);
        m.completion().filtered(1);
        let p = m.snapshot().pipeline;
        assert_eq!(
            (p.received, p.completed, p.failed, p.filtered, p.in_flight),
            (10, 6, 2, 1, 1)
        );
    }
}
