//! The `/metrics` exposition: monitor counters, completion counts and derived metrics, read
//! fresh on every scrape and encoded with `prometheus-client`.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::collect::DerivedMetrics;
use crate::monitor::Monitor;

type Labels = Vec<(&'static str, String)>;

/// Reads one statistic of a series, if it has one.
type Pick = fn(&crate::collect::SeriesSnapshot) -> Option<f64>;

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

    fn add(&mut self, labels: Labels, value: f64) -> &mut Self {
        self.samples.push((labels, value));
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
        let p = snapshot.pipeline;
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
        ];
        for (what, value, help) in outcome {
            let name = format!("zeropipe_messages_{what}");
            Family::new(&mut encoder).add(vec![], value as f64).write(
                &name,
                help,
                MetricType::Counter,
            )?;
        }
        Family::new(&mut encoder)
            .add(vec![], p.in_flight as f64)
            .write(
                "zeropipe_messages_in_flight",
                "Messages received and not yet completed, failed or filtered",
                MetricType::Gauge,
            )?;

        let mut ops = Family::new(&mut encoder);
        for op in &snapshot.ops {
            ops.add(op_labels(&op.domain, &op.operation), op.successes as f64);
        }
        ops.write(
            "zeropipe_operations",
            "Successful operations",
            MetricType::Counter,
        )?;

        let mut errors = Family::new(&mut encoder);
        for op in &snapshot.ops {
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
        )?;

        let mut durations = Family::new(&mut encoder);
        for op in snapshot.ops.iter().filter(|op| op.durations.samples > 0) {
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
        )?;

        self.encode_derived(&mut encoder)
    }
}

impl PipelineCollector {
    fn encode_derived(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let derived = self.metrics.snapshot();
        let series = || {
            derived.iter().flat_map(|(metric, snap)| {
                snap.series.iter().map(move |(label, s)| {
                    (
                        vec![("metric", metric.clone()), ("label", label.clone())],
                        s,
                    )
                })
            })
        };

        let mut events = Family::new(encoder);
        series().for_each(|(l, s)| {
            events.add(l, s.events as f64);
        });
        events.write(
            "zeropipe_derived_events",
            "Events per label value",
            MetricType::Counter,
        )?;

        let mut values = Family::new(encoder);
        series().for_each(|(l, s)| {
            values.add(l, s.count as f64);
        });
        values.write(
            "zeropipe_derived_values",
            "Numeric field values per label value",
            MetricType::Counter,
        )?;

        let stats: [(&str, &str, Pick); 5] = [
            ("zeropipe_derived_sum", "Sum of the field's values", |s| {
                Some(s.sum)
            }),
            ("zeropipe_derived_mean", "Mean of the field's values", |s| {
                s.mean
            }),
            ("zeropipe_derived_min", "Smallest field value", |s| s.min),
            ("zeropipe_derived_max", "Largest field value", |s| s.max),
            (
                "zeropipe_derived_rolling_mean",
                "Mean of the most recent field values",
                |s| s.rolling_mean,
            ),
        ];
        for (name, help, pick) in stats {
            let mut family = Family::new(encoder);
            series().for_each(|(l, s)| {
                if let Some(v) = pick(s) {
                    family.add(l, v);
                }
            });
            family.write(name, help, MetricType::Gauge)?;
        }

        let mut overflow = Family::new(encoder);
        for (metric, snap) in &derived {
            overflow.add(vec![("metric", metric.clone())], snap.other_events as f64);
        }
        overflow.write(
            "zeropipe_derived_overflow_events",
            "Events counted under the label value \"other\" because the label cap was reached",
            MetricType::Counter,
        )?;
        Ok(())
    }
}

fn op_labels(domain: &str, operation: &str) -> Labels {
    vec![
        ("domain", domain.to_owned()),
        ("operation", operation.to_owned()),
    ]
}
