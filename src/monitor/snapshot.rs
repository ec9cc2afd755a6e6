//! A point-in-time reading of the monitor, shaped as the seed's JSON output plus extensions.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::completion::CompletionSnapshot;
use super::op::OpStats;
use super::window::DurationStats;
use crate::domain::ErrorType;

/// One operation's counters at one instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpSnapshot {
    /// Domain name.
    pub domain: String,
    /// Operation name.
    pub operation: String,
    /// Successful operations.
    pub successes: u64,
    /// Failures by error type; types that never happened are left out.
    pub error_types: BTreeMap<&'static str, u64>,
    /// Rolling-window duration statistics.
    pub durations: DurationStats,
}

impl OpSnapshot {
    /// `domain.operation`, the key used in the JSON maps.
    pub fn key(&self) -> String {
        format!("{}.{}", self.domain, self.operation)
    }

    /// Failures of every type.
    pub fn errors(&self) -> u64 {
        self.error_types.values().sum()
    }
}

/// Everything the monitor knows, keyed by `domain.operation`.
///
/// `counts`, `errors` and `avg_duration` (milliseconds) are the seed design's output keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// Seconds since the monitor started.
    pub uptime_seconds: f64,
    /// Successes per operation.
    pub counts: BTreeMap<String, u64>,
    /// Failures per operation.
    pub errors: BTreeMap<String, u64>,
    /// Mean duration per operation over its rolling window, in milliseconds.
    pub avg_duration: BTreeMap<String, f64>,
    /// Failures per operation broken down by error type.
    pub error_types: BTreeMap<String, BTreeMap<&'static str, u64>>,
    /// Full rolling-window statistics per operation.
    pub durations: BTreeMap<String, DurationStats>,
    /// Pipeline completion counts.
    pub pipeline: CompletionSnapshot,
    /// The same data as a list, in registration order.
    #[serde(skip)]
    pub ops: Vec<OpSnapshot>,
}

impl Snapshot {
    pub(super) fn build(
        uptime_seconds: f64,
        stats: &[Arc<OpStats>],
        pipeline: CompletionSnapshot,
    ) -> Self {
        let ops: Vec<OpSnapshot> = stats.iter().map(|s| read_op(s)).collect();
        let mut snapshot = Snapshot {
            uptime_seconds,
            counts: BTreeMap::new(),
            errors: BTreeMap::new(),
            avg_duration: BTreeMap::new(),
            error_types: BTreeMap::new(),
            durations: BTreeMap::new(),
            pipeline,
            ops: Vec::new(),
        };
        for op in &ops {
            let key = op.key();
            snapshot.counts.insert(key.clone(), op.successes);
            snapshot.errors.insert(key.clone(), op.errors());
            snapshot
                .avg_duration
                .insert(key.clone(), op.durations.avg_ms);
            snapshot
                .error_types
                .insert(key.clone(), op.error_types.clone());
            snapshot.durations.insert(key, op.durations);
        }
        snapshot.ops = ops;
        snapshot
    }
}

fn read_op(stats: &OpStats) -> OpSnapshot {
    let error_types = ErrorType::ALL
        .into_iter()
        .map(|t| (t.as_str(), stats.errors_of(t)))
        .filter(|&(_, n)| n > 0)
        .collect();
    OpSnapshot {
        domain: stats.domain().to_owned(),
        operation: stats.operation().to_owned(),
        successes: stats.successes(),
        error_types,
        durations: stats.durations(),
    }
}
