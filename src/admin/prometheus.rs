//! The `/metrics` exposition: monitor counters, completion counts and derived metrics, read
//! fresh on every scrape and encoded with `prometheus-client`.

use std::collections::BTreeMap;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::collect::{DerivedMetrics, MetricSnapshot, SeriesSnapshot};
use crate::monitor::{CompletionSnapshot, Monitor, OpSnapshot};

type Labels = Vec<(&'static str, String)>;

/// What encoding a family returns.
type Encoded = Result<(), std::fmt::Error>;

/// Reads one statistic of a series, if it has one.
type Pick = fn(&SeriesSnapshot) -> Option<f64>;

/// The derived metrics at one instant, by name.
type Derived = BTreeMap<String, MetricSnapshot>;

/// Reads the monitor and the derived metrics on each scrape.
#[derive(Debug)]
pub struct PipelineCollector {
    monitor: Arc<Monitor>,
    metrics: Arc<DerivedMetrics>,
}

/// A registry holding one [`PipelineCollector`].
pub fn registry(monitor: Arc<Monitor>, metrics: Arc<DerivedMetrics>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(PipelineCollector { monitor, metrics }));
    registry
}

/// Encodes `registry` in the OpenMetrics text format.
///
/// # Errors
///
/// Only when formatting into the string fails, which it does not in practice.
pub fn encode(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut text = String::with_capacity(8 * 1024);
    prometheus_client::encoding::text::encode(&mut text, registry)?;
    Ok(text)
}

/// One metric family being written: its name, help and type, then one sample per label set.
struct Family<'e, 'd> {
    encoder: &'e mut DescriptorEncoder<'d>,
    samples: Vec<(Labels, f64)>,
}

impl<'e, 'd> Family<'e, 'd> {
    fn new(encoder: &'e mut DescriptorEncoder<'d>) -> Self {
        Self {
            encoder,
            samples: Vec::new(),
        }
    }

    /// Adds one sample. A value that is not finite is left out: OpenMetrics spells it `+Inf`,
    /// `-Inf` or `NaN`, the encoder writes `inf` or `-inf`, and strict parsers reject those.
    fn add(&mut self, labels: Labels, value: f64) -> &mut Self {
        if value.is_finite() {
            self.samples.push((labels, value));
        }
        self
    }

    /// Writes the family as counters (`name` gets `_total` from the encoder) or gauges.
    fn write(&mut self, name: &str, help: &str, kind: MetricType) -> Result<(), std::fmt::Error> {
        let mut metric = self.encoder.encode_descriptor(name, help, None, kind)?;
        for (labels, value) in self.samples.drain(..) {
            let family = metric.encode_family(&labels)?;
            match kind {
                MetricType::Counter => ConstCounter::new(value as u64).encode(family)?,
                _ => ConstGauge::new(value).encode(family)?,
            }
        }
        Ok(())
    }
}

impl Collector for PipelineCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = self.monitor.snapshot();
        encode_pipeline(&mut encoder, &snapshot.pipeline)?;
        encode_ops(&mut encoder, &snapshot.ops)?;
        encode_durations(&mut encoder, &snapshot.ops)?;
        self.encode_derived(&mut encoder)
    }
}

/// The completion counters and the messages in flight.
fn encode_pipeline(encoder: &mut DescriptorEncoder, p: &CompletionSnapshot) -> Encoded {
    let outcome = [
        ("received", p.received, "Messages received from ZeroMQ"),
        ("completed", p.completed, "Messages written by every sink"),
        (
            "failed",
            p.failed,
            "Messages that failed and went to the dead-letter output",
        ),
        (
            "filtered",
            p.filtered,
            "Messages dropped on purpose by a filter",
        ),
        (
            "lost",
            p.lost,
            "Failed messages that could not be written to the dead-letter file",
        ),
    ];
    for (what, value, help) in outcome {
        let name = format!("zeropipe_messages_{what}");
        Family::new(encoder)
            .add(vec![], value as f64)
            .write(&name, help, MetricType::Counter)?;
    }
    Family::new(encoder).add(vec![], p.in_flight as f64).write(
        "zeropipe_messages_in_flight",
        "Messages received and not yet completed, failed or filtered",
        MetricType::Gauge,
    )
}

/// Successes and failures by error type, per operation.
fn encode_ops(encoder: &mut DescriptorEncoder, ops: &[OpSnapshot]) -> Encoded {
    let mut successes = Family::new(encoder);
    for op in ops {
        successes.add(op_labels(&op.domain, &op.operation), op.successes as f64);
    }
    successes.write(
        "zeropipe_operations",
        "Successful operations",
        MetricType::Counter,
    )?;

    let mut errors = Family::new(encoder);
    for op in ops {
        for (error_type, count) in &op.error_types {
            let mut labels = op_labels(&op.domain, &op.operation);
            labels.push(("error_type", (*error_type).to_owned()));
            errors.add(labels, *count as f64);
        }
    }
    errors.write(
        "zeropipe_operation_errors",
        "Failed operations by error type",
        MetricType::Counter,
    )
}

/// Duration statistics of the operations that have samples.
fn encode_durations(encoder: &mut DescriptorEncoder, ops: &[OpSnapshot]) -> Encoded {
    let mut durations = Family::new(encoder);
    for op in ops.iter().filter(|op| op.durations.samples > 0) {
        let d = &op.durations;
        for (stat, ms) in [
            ("avg", d.avg_ms),
            ("p50", d.p50_ms),
            ("p95", d.p95_ms),
            ("p99", d.p99_ms),
            ("max", d.max_ms),
        ] {
            let mut labels = op_labels(&op.domain, &op.operation);
            labels.push(("stat", stat.to_owned()));
            durations.add(labels, ms / 1000.0);
        }
    }
    durations.write(
        "zeropipe_operation_duration_seconds",
        "Operation durations over the rolling window of recent samples",
        MetricType::Gauge,
    )
}

impl PipelineCollector {
    fn encode_derived(&self, encoder: &mut DescriptorEncoder) -> Encoded {
        let derived = self.metrics.snapshot();
        encode_series(encoder, &derived)?;
        encode_overflow(encoder, &derived)
    }
}

/// Every series of every derived metric, with its `metric` and `label` labels.
fn series_of(derived: &Derived) -> impl Iterator<Item = (Labels, &SeriesSnapshot)> {
    derived.iter().flat_map(|(metric, snap)| {
        snap.series.iter().map(move |(label, s)| {
            (
                vec![("metric", metric.clone()), ("label", label.clone())],
                s,
            )
        })
    })
}

/// Per series: the event and value counts, and the statistics.
fn encode_series(encoder: &mut DescriptorEncoder, derived: &Derived) -> Encoded {
    for (name, help, pick) in COUNTS {
        series_family(encoder, derived, (name, help), MetricType::Counter, pick)?;
    }
    for (name, help, pick) in STATS {
        series_family(encoder, derived, (name, help), MetricType::Gauge, pick)?;
    }
    Ok(())
}

/// The counters of every series.
const COUNTS: [(&str, &str, Pick); 2] = [
    ("zeropipe_derived_events", "Events per label value", |s| {
        Some(s.events as f64)
    }),
    (
        "zeropipe_derived_values",
        "Numeric field values per label value",
        |s| Some(s.count as f64),
    ),
];

/// One family with a sample per series; a series whose statistic is `None` (none seen yet, or
/// out of the f64 range) has no sample.
fn series_family(
    encoder: &mut DescriptorEncoder,
    derived: &Derived,
    (name, help): (&str, &str),
    kind: MetricType,
    pick: impl Fn(&SeriesSnapshot) -> Option<f64>,
) -> Encoded {
    let mut family = Family::new(encoder);
    for (labels, s) in series_of(derived) {
        if let Some(v) = pick(s) {
            family.add(labels, v);
        }
    }
    family.write(name, help, kind)
}

/// Per derived metric: the events beyond its label cap.
fn encode_overflow(encoder: &mut DescriptorEncoder, derived: &Derived) -> Encoded {
    let mut overflow = Family::new(encoder);
    for (metric, snap) in derived {
        overflow.add(vec![("metric", metric.clone())], snap.other_events as f64);
    }
    overflow.write(
        "zeropipe_derived_overflow_events",
        "Events counted under the overflow label value because the label cap was reached",
        MetricType::Counter,
    )
}

/// The gauge families of the derived statistics: name, help, and the statistic.
const STATS: [(&str, &str, Pick); 5] = [
    (
        "zeropipe_derived_sum",
        "Sum of the field's values, absent when out of the float range",
        |s| s.sum,
    ),
    (
        "zeropipe_derived_mean",
        "Mean of the field's values, absent when out of the float range",
        |s| s.mean,
    ),
    ("zeropipe_derived_min", "Smallest field value", |s| s.min),
    ("zeropipe_derived_max", "Largest field value", |s| s.max),
    (
        "zeropipe_derived_rolling_mean",
        "Mean of the most recent field values",
        |s| s.rolling_mean,
    ),
];

fn op_labels(domain: &str, operation: &str) -> Labels {
    vec![
        ("domain", domain.to_owned()),
        ("operation", operation.to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LabelSource, MetricConfig};
    use crate::event::{Event, FieldPath, RawMessage, SourceId};
    use serde_json::json;
    use std::time::{Duration, SystemTime};

    /// The exposition after one derived metric saw `values` under the label value `a`.
    fn scrape(values: &[f64]) -> String {
        let config = MetricConfig {
            name: "m".into(),
            field: FieldPath::parse("v"),
            label: Some(LabelSource::Field(FieldPath::parse("k").unwrap())),
            max_labels: 10,
            window: 10,
        };
        let metrics = Arc::new(DerivedMetrics::new(vec![config]));
        for v in values {
            let raw = RawMessage {
                frames: vec![],
                source: SourceId(0),
                received_at: SystemTime::now(),
            };
            let mut event = Event::new(raw);
            event.set_body(json!({"k": "a", "v": v}));
            metrics.record(&event);
        }
        let monitor = Arc::new(Monitor::new(10));
        monitor
            .register("process", "handle")
            .success(Duration::from_millis(1));
        encode(&registry(monitor, metrics)).unwrap()
    }

    #[test]
    fn statistics_out_of_the_f64_range_have_no_sample() {
        let text = scrape(&[1e308, 1e308]);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            let finite = value.parse::<f64>().is_ok_and(f64::is_finite);
            assert!(finite, "{line}");
        }
        assert!(!text.contains("zeropipe_derived_sum{"), "{text}");
        assert!(!text.contains("zeropipe_derived_mean{"), "{text}");
        assert!(text.contains("zeropipe_derived_max{"), "{text}");
        assert!(text.contains("zeropipe_derived_rolling_mean{"), "{text}");
    }

    #[test]
    fn help_texts_need_no_escaping() {
        let text = scrape(&[1.0]);
        let help: Vec<&str> = text.lines().filter(|l| l.starts_with("# HELP ")).collect();
        assert_eq!(help.len(), 17, "{text}");
        for line in help {
            assert!(!line.contains(['"', '\\']), "{line}");
        }
    }
}
