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

    /// The statistics at this instant. A statistic that left the `f64` range is `None`, and
    /// `overflowed` tells it apart from a series that saw no value.
    pub fn snapshot(&self) -> SeriesSnapshot {
        let has = self.count > 0;
        let raw = [
            self.sum / self.count as f64,
            self.min,
            self.max,
            self.rolling_mean(),
        ];
        let [mean, min, max, rolling_mean] = raw.map(|v| if has { finite(v) } else { None });
        SeriesSnapshot {
            events: self.events,
            count: self.count,
            sum: finite(self.sum),
            mean,
            min,
            max,
            rolling_mean,
            overflowed: !self.sum.is_finite() || (has && raw.iter().any(|v| !v.is_finite())),
        }
    }

    /// The mean of the recent values (0 when there is none). Each value is divided before
    /// the addition, so finite values cannot overflow it.
    fn rolling_mean(&self) -> f64 {
        let n = self.recent.len() as f64;
        self.recent.iter().map(|v| v / n).sum()
    }
}

/// `v` when it is finite.
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// A series at one instant.
///
/// The summary is `None` until a numeric value was seen (`sum` is then 0). A statistic that
/// is not finite, such as a sum of values near `f64::MAX`, is also `None`, and `overflowed`
/// is then true; the sum, once out of range, stays out of range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesSnapshot {
    /// Events with this label value.
    pub events: u64,
    /// Events whose field held a number.
    pub count: u64,
    /// Sum of the numbers; `None` when it left the `f64` range.
    pub sum: Option<f64>,
    /// Mean of every number seen.
    pub mean: Option<f64>,
    /// Smallest number seen.
    pub min: Option<f64>,
    /// Largest number seen.
    pub max: Option<f64>,
    /// Mean of the last `window` numbers.
    pub rolling_mean: Option<f64>,
    /// Whether a statistic left the `f64` range, so that a `None` above means out of range
    /// rather than no values.
    pub overflowed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

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
            (Some(9.0), Some(3.0), Some(1.0), Some(6.0))
        );
        assert_eq!(snap.rolling_mean, Some(4.0));
        assert!(!snap.overflowed);
    }

    #[test]
    fn sums_beyond_the_f64_range_are_none_and_flagged() {
        for sign in [1.0, -1.0] {
            let mut s = Series::new(2);
            s.record(Some(sign * 1e308));
            s.record(Some(sign * 1e308));
            let snap = s.snapshot();
            assert_eq!((snap.sum, snap.mean), (None, None));
            assert_eq!(
                (snap.min, snap.max),
                (Some(sign * 1e308), Some(sign * 1e308))
            );
            assert_eq!(snap.rolling_mean, Some(sign * 1e308));
            assert!(snap.overflowed);

            let json = serde_json::to_value(&snap).unwrap();
            assert_eq!(
                (&json["sum"], &json["overflowed"]),
                (&Value::Null, &Value::Bool(true))
            );
        }
    }

    #[test]
    fn an_out_of_range_sum_stays_flagged() {
        let mut s = Series::new(1);
        for v in [1e308, 1e308, -1e308, 1.0] {
            s.record(Some(v));
        }
        let snap = s.snapshot();
        assert_eq!(
            (snap.sum, snap.mean, snap.rolling_mean),
            (None, None, Some(1.0))
        );
        assert!(snap.overflowed);
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
        assert_eq!((snap.sum, snap.overflowed), (Some(0.0), false));
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
