//! The collect domain: metrics derived from event fields (event counts and numeric summaries,
//! labelled by another field with a cap on distinct label values).

mod series;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;

pub use series::{Series, SeriesSnapshot};

use crate::config::{LabelSource, MetricConfig};
use crate::domain::{Domain, DomainError, Verdict};
use crate::event::Event;

/// The label value that collects every value beyond `max_labels`.
///
/// A real label value equal to `other` is not told apart: its events share this series with
/// the overflow, though only the overflow is counted in [`MetricSnapshot::other_events`].
pub const OTHER_LABEL: &str = "other";

/// The label value of events that have no label field.
///
/// These events take one of the `max_labels` slots like any other label value, and a real
/// label value equal to `(none)` shares their series.
pub const NONE_LABEL: &str = "(none)";

/// The longest label value kept, in bytes.
///
/// A longer value is cut at a UTF-8 character boundary and ends with `…`; the suffix counts
/// toward the limit, so a kept value is never longer than this. Values that are equal once cut
/// share one series.
pub const MAX_LABEL_BYTES: usize = 128;

/// The end of a label value cut to [`MAX_LABEL_BYTES`].
const CUT_SUFFIX: &str = "…";

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
        let value = self.value_of(config, event);
        let label = label_of(config.label.as_ref(), event);
        let label = label.as_deref().unwrap_or(NONE_LABEL);
        match self.series.get_mut(label) {
            Some(series) => series.record(value),
            None => self.new_series(config, label).record(value),
        }
    }

    /// The number in the event's field, counting the events without one.
    fn value_of(&mut self, config: &MetricConfig, event: &Event) -> Option<f64> {
        let number = event.field(config.field.as_ref()?).and_then(Value::as_f64);
        if number.is_none() {
            self.missing_field += 1;
        }
        number
    }

    /// The series of a label value not seen before: its own while fewer than `max_labels`
    /// values are kept, else the one of [`OTHER_LABEL`].
    fn new_series(&mut self, config: &MetricConfig, label: &str) -> &mut Series {
        let key = if self.series.len() < config.max_labels {
            label
        } else {
            OTHER_LABEL
        };
        if key == OTHER_LABEL && label != OTHER_LABEL {
            self.other_events += 1;
        }
        self.series
            .entry(key.to_owned())
            .or_insert_with(|| Series::new(config.window))
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
/// numbers and booleans as their JSON text. Any of them is cut to [`MAX_LABEL_BYTES`].
fn label_of<'e>(source: Option<&LabelSource>, event: &'e Event) -> Option<Cow<'e, str>> {
    let label = match source? {
        LabelSource::Topic => Cow::Borrowed(event.topic.as_deref()?),
        LabelSource::Field(path) => match event.field(path)? {
            Value::String(s) => Cow::Borrowed(s.as_str()),
            v @ (Value::Number(_) | Value::Bool(_)) => Cow::Owned(v.to_string()),
            _ => return None,
        },
    };
    Some(bounded(label))
}

/// `label` cut to at most [`MAX_LABEL_BYTES`] bytes; a label short enough is returned as it
/// is, without a copy.
fn bounded(label: Cow<'_, str>) -> Cow<'_, str> {
    if label.len() <= MAX_LABEL_BYTES {
        return label;
    }
    let end = label.floor_char_boundary(MAX_LABEL_BYTES - CUT_SUFFIX.len());
    let mut cut = String::with_capacity(end + CUT_SUFFIX.len());
    cut.push_str(&label[..end]);
    cut.push_str(CUT_SUFFIX);
    Cow::Owned(cut)
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
        assert_eq!(snap.series[OTHER_LABEL].sum, Some(9.0));
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

    #[test]
    fn long_label_values_are_cut_and_share_a_series() {
        let label = Some(LabelSource::Field(FieldPath::parse("k").unwrap()));
        let metrics = DerivedMetrics::new(vec![metric(label, 10)]);
        let prefix = "x".repeat(200);
        for i in 0..100 {
            let k = format!("{prefix}{i}{}", "y".repeat(100 * 1024));
            metrics.record(&event("t", json!({"k": k, "v": 1})));
        }
        let snap = &metrics.snapshot()["m"];
        let (key, series) = snap.series.iter().next().unwrap();
        assert_eq!(
            (snap.series.len(), series.events, snap.other_events),
            (1, 100, 0)
        );
        assert!(key.len() <= MAX_LABEL_BYTES, "{} bytes", key.len());
        assert!(key.starts_with("xxx") && key.ends_with(CUT_SUFFIX), "{key}");
    }

    #[test]
    fn label_values_are_cut_at_a_char_boundary() {
        let two_byte = "é".repeat(100);
        let cut = bounded(Cow::Borrowed(&two_byte));
        assert_eq!(cut, format!("{}{CUT_SUFFIX}", "é".repeat(62)));

        let topic = "t".repeat(MAX_LABEL_BYTES + 1);
        let event = event(&topic, json!({}));
        let cut = label_of(Some(&LabelSource::Topic), &event).unwrap();
        assert_eq!(cut.len(), MAX_LABEL_BYTES);
    }

    #[test]
    fn short_labels_are_borrowed_not_copied() {
        let longest = "z".repeat(MAX_LABEL_BYTES);
        let source = LabelSource::Field(FieldPath::parse("k").unwrap());
        let event = event("t", json!({"k": longest}));
        let label = label_of(Some(&source), &event).unwrap();
        assert!(matches!(label, Cow::Borrowed(_)));
        assert_eq!(label, longest);
    }

    #[test]
    fn a_real_other_label_shares_the_overflow_series_uncounted() {
        let label = Some(LabelSource::Field(FieldPath::parse("k").unwrap()));
        let metrics = DerivedMetrics::new(vec![metric(label, 2)]);
        for k in [OTHER_LABEL, "a", "b"] {
            metrics.record(&event("t", json!({"k": k, "v": 1})));
        }
        let snap = &metrics.snapshot()["m"];
        assert_eq!((snap.series[OTHER_LABEL].events, snap.other_events), (2, 1));
    }
}
