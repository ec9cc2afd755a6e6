//! What a shutdown leaves behind: the final monitor snapshot, the derived metrics, and the
//! parts that did not finish in time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::collect::{DerivedMetrics, MetricSnapshot};
use crate::monitor::{Monitor, Snapshot};

/// The outcome of a shutdown.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The monitor at the end.
    pub snapshot: Snapshot,
    /// The derived metrics at the end.
    pub metrics: BTreeMap<String, MetricSnapshot>,
    /// Parts (`ingest.<socket>`, domain names, `dead_letter`) still running when the
    /// shutdown was forced; empty after a clean drain.
    pub unfinished: Vec<String>,
    /// How long the shutdown took.
    pub drain_seconds: f64,
}

impl Report {
    pub(super) fn new(
        monitor: &Monitor,
        metrics: &DerivedMetrics,
        unfinished: Vec<String>,
        took: Duration,
    ) -> Self {
        Self {
            snapshot: monitor.snapshot(),
            metrics: metrics.snapshot(),
            unfinished,
            drain_seconds: took.as_secs_f64(),
        }
    }

    /// Whether every part finished and nothing is left in flight.
    pub fn is_clean(&self) -> bool {
        self.unfinished.is_empty() && self.snapshot.pipeline.in_flight == 0
    }

    /// One line: the completion counts.
    pub fn summary(&self) -> String {
        let p = &self.snapshot.pipeline;
        let mut line = format!(
            "received={} completed={} failed={} filtered={} in_flight={}",
            p.received, p.completed, p.failed, p.filtered, p.in_flight
        );
        if !self.unfinished.is_empty() {
            line.push_str(&format!(" unfinished={}", self.unfinished.join(",")));
        }
        line
    }

    /// A multi-line, human-readable account: completion, every operation, every derived metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let p = &self.snapshot.pipeline;
        let _ = writeln!(
            out,
            "messages: received {}, completed {}, failed {}, filtered {}, in flight {}",
            p.received, p.completed, p.failed, p.filtered, p.in_flight
        );
        let _ = writeln!(
            out,
            "\n{:<28} {:>10} {:>8} {:>10} {:>10} {:>10}  errors by type",
            "operation", "ok", "errors", "avg ms", "p99 ms", "max ms"
        );
        for op in &self.snapshot.ops {
            let d = &op.durations;
            if d.samples == 0 {
                let _ = writeln!(
                    out,
                    "{:<28} {:>10} {:>8} {:>10} {:>10} {:>10}  {}",
                    op.key(),
                    op.successes,
                    op.errors(),
                    "-",
                    "-",
                    "-",
                    types_of(op)
                );
                continue;
            }
            let types: Vec<String> = op
                .error_types
                .iter()
                .map(|(t, n)| format!("{t}={n}"))
                .collect();
            let _ = writeln!(
                out,
                "{:<28} {:>10} {:>8} {:>10.4} {:>10.4} {:>10.4}  {}",
                op.key(),
                op.successes,
                op.errors(),
                d.avg_ms,
                d.p99_ms,
                d.max_ms,
                types.join(" ")
            );
        }
        for (name, metric) in &self.metrics {
            let field = metric.field.as_deref().unwrap_or("-");
            let label = metric.label.as_deref().unwrap_or("-");
            let _ = writeln!(out, "\nmetric {name} (field {field}, label {label})");
            let _ = writeln!(
                out,
                "{:<16} {:>8} {:>8} {:>10} {:>10} {:>10} {:>10}",
                "label", "events", "values", "mean", "min", "max", "rolling"
            );
            let num = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.3}"));
            for (label, s) in &metric.series {
                let _ = writeln!(
                    out,
                    "{:<16} {:>8} {:>8} {:>10} {:>10} {:>10} {:>10}",
                    label,
                    s.events,
                    s.count,
                    num(s.mean),
                    num(s.min),
                    num(s.max),
                    num(s.rolling_mean)
                );
            }
            if metric.other_events > 0 || metric.missing_field > 0 {
                let _ = writeln!(
                    out,
                    "(over the label cap: {}, without the field: {})",
                    metric.other_events, metric.missing_field
                );
            }
        }
        if !self.unfinished.is_empty() {
            let _ = writeln!(out, "\ndid not finish: {}", self.unfinished.join(", "));
        }
        out
    }
}

fn types_of(op: &crate::monitor::OpSnapshot) -> String {
    let types: Vec<String> = op
        .error_types
        .iter()
        .map(|(t, n)| format!("{t}={n}"))
        .collect();
    types.join(" ")
}
