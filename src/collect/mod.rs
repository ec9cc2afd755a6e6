//! The collect domain: metrics derived from event fields (event counts and numeric summaries,
//! labelled by another field with a cap on distinct label values).

mod series;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;

pub use series::{Series, SeriesSnapshot};

use crate::config::{LabelSource, MetricConfig};
use crate::domain::{Domain, DomainError, Verdict};
use crate::event::Event;

/// The label value that collects every value beyond `max_labels`.
pub const OTHER_LABEL: &str = "other";

/// The label value of events that have no label field.
pub const NONE_LABEL: &str = "(none)";

/// The derived metrics of a pipeline, shared between the collect domain (which updates them)
/// and the admin server (which reads them).
#[derive(Debug, Default)]
pub struct DerivedMetrics {
    metrics: Vec<(MetricConfig, Mutex<MetricState>)>,
}

#[derive(Debug)]
struct MetricState {
    series: HashMap<String, Series>,
    other_events: u64,
    missing_field: u64,
}

impl DerivedMetrics {
    /// Empty metrics for the given definitions.
    pub fn new(configs: Vec<MetricConfig>) -> Self {
        let metrics = configs
            .into_iter()
            .map(|c| {
                let state = MetricState {
                    series: HashMap::new(),
                    other_events: 0,
                    missing_field: 0,
                };
                (c, Mutex::new(state))
            })
            .collect();
        Self { metrics }
    }

    /// Whether any metric is defined.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// Updates every metric with one event.
    pub fn record(&self, event: &Event) {
        for (config, state) in &self.metrics {
            let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
            state.record(config, event);
        }
    }

    /// Every metric at this instant, by name.
    pub fn snapshot(&self) -> BTreeMap<String, MetricSnapshot> {
        self.metrics
            .iter()
            .map(|(config, state)| {
                let state = state.lock().unwrap_or_else(|e| e.into_inner());
                (config.name.clone(), state.snapshot(config))
            })
            .collect()
    }
}

impl MetricState {
    fn record(&mut self, config: &MetricConfig, event: &Event) {
        let value = match &config.field {
            Some(path) => {
                let number = event.field(path).and_then(Value::as_f64);
                if number.is_none() {
                    self.missing_field += 1;
                }
                number
            }
            None => None,
        };
        let label = label_of(config.label.as_ref(), event);
        let label = label.as_deref().unwrap_or(NONE_LABEL);
        if let Some(series) = self.series.get_mut(label) {
            series.record(value);
            return;
        }
        let key = if self.series.len() < config.max_labels {
            label
        } else {
            OTHER_LABEL
        };
        if key == OTHER_LABEL && label != OTHER_LABEL {
            self.other_events += 1;
        }
        let series = self
            .series
            .entry(key.to_owned())
            .or_insert_with(|| Series::new(config.window));
        series.record(value);
    }

    fn snapshot(&self, config: &MetricConfig) -> MetricSnapshot {
        MetricSnapshot {
            field: config.field.as_ref().map(|f| f.as_str().to_owned()),
            label: config.label.as_ref().map(|l| match l {
                LabelSource::Field(f) => f.as_str().to_owned(),
                LabelSource::Topic => crate::config::TOPIC_LABEL.to_owned(),
            }),
            other_events: self.other_events,
            missing_field: self.missing_field,
            series: self
                .series
                .iter()
                .map(|(k, s)| (k.clone(), s.snapshot()))
                .collect(),
        }
    }
}

/// The label value of `event`, or `None` when it has none. Strings are used as they are;
/// numbers and booleans as their JSON text.
fn label_of<'e>(
    source: Option<&LabelSource>,
    event: &'e Event,
) -> Option<std::borrow::Cow<'e, str>> {
    use std::borrow::Cow;
    match source? {
        LabelSource::Topic => event.topic.as_deref().map(Cow::Borrowed),
        LabelSource::Field(path) => match event.field(path)? {
            Value::String(s) => Some(Cow::Borrowed(s)),
            v @ (Value::Number(_) | Value::Bool(_)) => Some(Cow::Owned(v.to_string())),
            _ => None,
        },
    }
}

/// One derived metric at one instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSnapshot {
    /// The summarized field, if any.
    pub field: Option<String>,
    /// The label field (or `$topic`), if any.
    pub label: Option<String>,
    /// Events counted under `other` because the label cap was reached.
    pub other_events: u64,
    /// Events whose field was absent or not a number.
    pub missing_field: u64,
    /// One entry per label value.
    pub series: BTreeMap<String, SeriesSnapshot>,
}

/// The collect domain: feeds every event to the derived metrics and forwards it unchanged.
#[derive(Debug, Clone)]
pub struct Collect {
    metrics: Arc<DerivedMetrics>,
}

impl Collect {
    /// A collect domain updating `metrics`.
    pub fn new(metrics: Arc<DerivedMetrics>) -> Self {
        Self { metrics }
    }
}

impl Domain for Collect {
    fn name(&self) -> &str {
        "collect"
    }

    fn handle(&mut self, event: &mut Event) -> Result<Verdict, DomainError> {
        self.metrics.record(event);
        Ok(Verdict::Forward)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{FieldPath, RawMessage, SourceId};
    use serde_json::json;
    use std::time::SystemTime;

    fn event(topic: &str, body: Value) -> Event {
        let raw = RawMessage {
            frames: vec![],
            source: SourceId(0),
            received_at: SystemTime::now(),
        };
        let mut event = Event::new(raw);
        event.topic = Some(topic.into());
        event.set_body(body);
        event
    }

    fn metric(label: Option<LabelSource>, max_labels: usize) -> MetricConfig {
        MetricConfig {
            name: "m".into(),
            field: FieldPath::parse("v"),
            label,
            max_labels,
            window: 1000,
        }
    }

    #[test]
    fn labels_by_field_and_caps_distinct_values() {
        let label = Some(LabelSource::Field(FieldPath::parse("k").unwrap()));
        let metrics = DerivedMetrics::new(vec![metric(label, 2)]);
        for (k, v) in [("a", 1.0), ("b", 2.0), ("a", 3.0), ("c", 4.0), ("d", 5.0)] {
            metrics.record(&event("t", json!({"k": k, "v": v})));
        }
        metrics.record(&event("t", json!({"k": "a"})));
        let snap = &metrics.snapshot()["m"];
        assert_eq!(snap.series["a"].events, 3);
        assert_eq!(snap.series["a"].mean, Some(2.0));
        assert_eq!(snap.series[OTHER_LABEL].events, 2);
        assert_eq!(snap.series[OTHER_LABEL].sum, 9.0);
        assert_eq!((snap.other_events, snap.missing_field), (2, 1));
        assert_eq!(snap.series.len(), 3);
    }

    #[test]
    fn labels_by_topic_and_missing_labels() {
        let metrics = DerivedMetrics::new(vec![
            metric(Some(LabelSource::Topic), 10),
            MetricConfig {
                name: "n".into(),
                ..metric(Some(LabelSource::Field(FieldPath::parse("x").unwrap())), 10)
            },
        ]);
        metrics.record(&event("rain", json!({"v": 1})));
        metrics.record(&event("sun", json!({"v": 2, "x": 7})));
        let snap = metrics.snapshot();
        assert_eq!(snap["m"].series["rain"].count, 1);
        assert_eq!(snap["n"].series[NONE_LABEL].events, 1);
        assert_eq!(snap["n"].series["7"].events, 1);
    }
}
