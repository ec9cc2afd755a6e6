//! One labelled series of a derived metric: event count and a numeric summary with a rolling
//! mean over the last N values.

use serde::Serialize;

/// Running statistics of one label value.
#[derive(Debug, Clone)]
pub struct Series {
    events: u64,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    recent: Vec<f64>,
    next: usize,
    window: usize,
}

impl Series {
    /// An empty series whose rolling mean covers the last `window` values.
    pub fn new(window: usize) -> Self {
        Self {
            events: 0,
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            recent: Vec::new(),
            next: 0,
            window: window.max(1),
        }
    }

    /// Counts one event; `value` is its field's number, if it had one.
    pub fn record(&mut self, value: Option<f64>) {
        self.events += 1;
        let Some(v) = value else { return };
        self.count += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if self.recent.len() < self.window {
            self.recent.push(v);
        } else {
            self.recent[self.next] = v;
        }
        self.next = (self.next + 1) % self.window;
    }

    /// The statistics at this instant.
    pub fn snapshot(&self) -> SeriesSnapshot {
        let has = self.count > 0;
        let recent_sum: f64 = self.recent.iter().sum();
        SeriesSnapshot {
            events: self.events,
            count: self.count,
            sum: self.sum,
            mean: has.then(|| self.sum / self.count as f64),
            min: has.then_some(self.min),
            max: has.then_some(self.max),
            rolling_mean: has.then(|| recent_sum / self.recent.len() as f64),
        }
    }
}

/// A series at one instant. Summary fields are `None` until a numeric value was seen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesSnapshot {
    /// Events with this label value.
    pub events: u64,
    /// Events whose field held a number.
    pub count: u64,
    /// Sum of the numbers.
    pub sum: f64,
    /// Mean of every number seen.
    pub mean: Option<f64>,
    /// Smallest number seen.
    pub min: Option<f64>,
    /// Largest number seen.
    pub max: Option<f64>,
    /// Mean of the last `window` numbers.
    pub rolling_mean: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn summary_and_rolling_mean() {
        let mut s = Series::new(2);
        for v in [1.0, 2.0, 6.0] {
            s.record(Some(v));
        }
        s.record(None);
        let snap = s.snapshot();
        assert_eq!((snap.events, snap.count), (4, 3));
        assert_eq!(
            (snap.sum, snap.mean, snap.min, snap.max),
            (9.0, Some(3.0), Some(1.0), Some(6.0))
        );
        assert_eq!(snap.rolling_mean, Some(4.0));
    }

    #[test]
    fn empty_series_has_no_summary() {
        let mut s = Series::new(5);
        s.record(None);
        let snap = s.snapshot();
        assert_eq!(
            (snap.events, snap.count, snap.mean, snap.rolling_mean),
            (1, 0, None, None)
        );
    }

    proptest! {
        #[test]
        fn rolling_mean_is_the_mean_of_the_last_window_values(
            window in 1usize..20,
            values in proptest::collection::vec(-1e6f64..1e6, 1..100),
        ) {
            let mut s = Series::new(window);
            for &v in &values {
                s.record(Some(v));
            }
            let tail = &values[values.len().saturating_sub(window)..];
            let expected = tail.iter().sum::<f64>() / tail.len() as f64;
            let got = s.snapshot().rolling_mean.unwrap();
            prop_assert!((got - expected).abs() <= 1e-6 * expected.abs().max(1.0));
        }
    }
}
