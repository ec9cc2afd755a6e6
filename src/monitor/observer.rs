//! The seed design's observer wire format: `{"domain", "operation", "duration"}` on success and
//! `{"domain", "operation", "error_type"}` on error.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Monitor;
use crate::domain::ErrorType;

/// One observation, as the seed's callbacks emitted it; durations are in milliseconds.
///
/// ```
/// use zeropipe::monitor::{Monitor, MonitorEvent};
///
/// let monitor = Monitor::default();
/// let ok: MonitorEvent =
///     serde_json::from_str(r#"{"domain": "process", "operation": "handle", "duration": 0.42}"#)
///         .unwrap();
/// let bad: MonitorEvent = serde_json::from_str(
///     r#"{"domain": "process", "operation": "handle", "error_type": "invalid_json"}"#,
/// )
/// .unwrap();
/// monitor.observe(&ok);
/// monitor.observe(&bad);
/// assert_eq!(monitor.snapshot().error_types["process.handle"]["invalid_json"], 1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MonitorEvent {
    /// An operation succeeded after `duration` milliseconds.
    Success {
        /// Domain name.
        domain: String,
        /// Operation name.
        operation: String,
        /// Duration in milliseconds.
        duration: f64,
    },
    /// An operation failed.
    Error {
        /// Domain name.
        domain: String,
        /// Operation name.
        operation: String,
        /// One of the names of [`ErrorType`]; an unknown name counts as `transform_failed`.
        error_type: String,
    },
}

impl MonitorEvent {
    pub(super) fn apply(&self, monitor: &Monitor) {
        match self {
            MonitorEvent::Success {
                domain,
                operation,
                duration,
            } => {
                let millis = if duration.is_finite() {
                    duration.max(0.0)
                } else {
                    0.0
                };
                let handle = monitor.register(domain, operation);
                handle
                    .success(Duration::try_from_secs_f64(millis / 1000.0).unwrap_or(Duration::MAX));
            }
            MonitorEvent::Error {
                domain,
                operation,
                error_type,
            } => {
                let kind = ErrorType::parse(error_type).unwrap_or(ErrorType::TransformFailed);
                monitor.register(domain, operation).errors(kind, 1);
            }
        }
    }
}
