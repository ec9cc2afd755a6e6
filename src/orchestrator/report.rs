//! What a shutdown leaves behind: the final monitor snapshot, the derived metrics, and the
//! parts that did not finish in time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::collect::{DerivedMetrics, MetricSnapshot};
use crate::monitor::{Monitor, OpSnapshot, Snapshot};

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

    /// Whether the drain accounted for everything: nothing is left in flight and every failed
    /// message is in the dead-letter file. Parts that were still running when the deadline
    /// passed (see `unfinished`) do not matter once nothing is in flight.
    pub fn is_clean(&self) -> bool {
        let p = &self.snapshot.pipeline;
        p.in_flight == 0 && p.lost == 0
    }

    /// One line: the completion counts.
    pub fn summary(&self) -> String {
        let p = &self.snapshot.pipeline;
        let mut line = format!(
            "received={} completed={} failed={} filtered={} in_flight={}",
            p.received, p.completed, p.failed, p.filtered, p.in_flight
        );
        if p.lost > 0 {
            line.push_str(&format!(" lost={}", p.lost));
        }
        if !self.unfinished.is_empty() {
            line.push_str(&format!(" unfinished={}", self.unfinished.join(",")));
        }
        line
    }

    /// A multi-line, human-readable account: completion, every operation, every derived metric.
    ///
    /// Names and label values are escaped as in Rust string literals, so a newline or another
    /// control character in them cannot break the table.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let p = &self.snapshot.pipeline;
        let _ = writeln!(
            out,
            "messages: received {}, completed {}, failed {}, filtered {}, in flight {}",
            p.received, p.completed, p.failed, p.filtered, p.in_flight
        );
        if p.lost > 0 {
            let _ = writeln!(
                out,
                "lost: {} failed messages are missing from the dead-letter file",
                p.lost
            );
        }
        render_ops(&mut out, &self.snapshot.ops);
        for (name, metric) in &self.metrics {
            render_metric(&mut out, name, metric);
        }
        if !self.unfinished.is_empty() {
            let parts: Vec<String> = self.unfinished.iter().map(|u| escaped(u)).collect();
            let _ = writeln!(out, "\ndid not finish: {}", parts.join(", "));
        }
        out
    }
}

/// The operations table: counts, durations and errors by type.
fn render_ops(out: &mut String, ops: &[OpSnapshot]) {
    let _ = writeln!(
        out,
        "\n{:<28} {:>10} {:>8} {:>10} {:>10} {:>10}  errors by type",
        "operation", "ok", "errors", "avg ms", "p99 ms", "max ms"
    );
    for op in ops {
        let d = &op.durations;
        let [avg, p99, max] = if d.samples == 0 {
            ["-".to_owned(), "-".to_owned(), "-".to_owned()]
        } else {
            [d.avg_ms, d.p99_ms, d.max_ms].map(|ms| format!("{ms:.4}"))
        };
        let _ = writeln!(
            out,
            "{:<28} {:>10} {:>8} {avg:>10} {p99:>10} {max:>10}  {}",
            escaped(&op.key()),
            op.successes,
            op.errors(),
            types_of(op)
        );
    }
}

/// One derived metric: a row per label value, then the events it could not place.
fn render_metric(out: &mut String, name: &str, metric: &MetricSnapshot) {
    let field = metric.field.as_deref().map_or("-".to_owned(), escaped);
    let label = metric.label.as_deref().map_or("-".to_owned(), escaped);
    let name = escaped(name);
    let _ = writeln!(out, "\nmetric {name} (field {field}, label {label})");
    let _ = writeln!(
        out,
        "{:<16} {:>8} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "label", "events", "values", "mean", "min", "max", "rolling"
    );
    for (label, s) in &metric.series {
        let [mean, min, max, rolling] =
            [s.mean, s.min, s.max, s.rolling_mean].map(|v| statistic(v, s.overflowed));
        let _ = writeln!(
            out,
            "{:<16} {:>8} {:>8} {mean:>10} {min:>10} {max:>10} {rolling:>10}",
            escaped(label),
            s.events,
            s.count,
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

/// `text` with newlines, quotes and other control characters escaped.
fn escaped(text: &str) -> String {
    text.escape_debug().to_string()
}

/// A statistic for the table: `-` when the series saw no value, `overflow` when the statistic
/// left the `f64` range.
fn statistic(value: Option<f64>, overflowed: bool) -> String {
    match value {
        Some(v) => number(v),
        None if overflowed => "overflow".to_owned(),
        None => "-".to_owned(),
    }
}

/// `v` with three decimals, in scientific notation from 1e9 on so that a column stays narrow.
fn number(v: f64) -> String {
    if v.abs() < 1e9 {
        format!("{v:.3}")
    } else {
        format!("{v:.3e}")
    }
}

fn types_of(op: &OpSnapshot) -> String {
    let types: Vec<String> = op
        .error_types
        .iter()
        .map(|(t, n)| format!("{t}={n}"))
        .collect();
    types.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::SeriesSnapshot;

    fn series(value: Option<f64>, overflowed: bool) -> SeriesSnapshot {
        SeriesSnapshot {
            events: 2,
            count: 2,
            sum: None,
            mean: value,
            min: value,
            max: value,
            rolling_mean: value,
            overflowed,
        }
    }

    fn report(series: BTreeMap<String, SeriesSnapshot>) -> Report {
        let monitor = Monitor::new(10);
        monitor
            .register("pro\ncess", "handle")
            .success(Duration::from_millis(1));
        let metric = MetricSnapshot {
            field: Some("v".into()),
            label: Some("k".into()),
            other_events: 0,
            missing_field: 0,
            series,
        };
        Report {
            snapshot: monitor.snapshot(),
            metrics: BTreeMap::from([("m".to_owned(), metric)]),
            unfinished: vec![],
            drain_seconds: 0.0,
        }
    }

    #[test]
    fn control_characters_and_huge_numbers_keep_the_table_shape() {
        let rows = BTreeMap::from([("a\nb".to_owned(), series(Some(1e300), false))]);
        let out = report(rows).render();
        assert!(
            out.contains("pro\\ncess.handle") && out.contains("a\\nb "),
            "{out}"
        );
        assert!(
            !out.lines()
                .any(|l| l.starts_with("b ") || l.starts_with("cess")),
            "{out}"
        );
        assert!(out.contains("1.000e300"), "{out}");
        assert!(out.lines().all(|l| l.len() < 100), "{out}");
    }

    #[test]
    fn missing_and_out_of_range_statistics_differ() {
        let rows = BTreeMap::from([
            ("empty".to_owned(), series(None, false)),
            ("huge".to_owned(), series(None, true)),
        ]);
        let out = report(rows).render();
        let row = |label: &str| {
            out.lines()
                .find(|l| l.starts_with(label))
                .unwrap()
                .to_owned()
        };
        assert!(
            row("empty").ends_with(" -") && !row("empty").contains("overflow"),
            "{out}"
        );
        assert!(row("huge").ends_with(" overflow"), "{out}");
    }

    #[test]
    fn numbers_switch_to_scientific_notation_at_one_billion() {
        assert_eq!(number(999_999_999.0), "999999999.000");
        assert_eq!(number(-1e9), "-1.000e9");
        assert_eq!(number(0.5), "0.500");
    }
}
