//! gatehouse's own time per request, as its metrics endpoint tells it: the
//! `gatehouse_http_request_own_duration_seconds` histograms (request time
//! less the waits on Hydra and the SMS gateway), read before and after a
//! scenario, and the quantiles of what was observed in between.

use std::collections::HashMap;

/// gatehouse's own-time histograms by (route, method, status): cumulative
/// counts per upper bound in seconds, +Inf last.
#[derive(Debug, Default, Clone)]
pub struct OwnTimes(HashMap<(String, String, String), Vec<(f64, u64)>>);

const OWN_METRIC: &str = "gatehouse_http_request_own_duration_seconds_bucket{";

impl OwnTimes {
    pub fn parse(text: &str) -> OwnTimes {
        let mut series: HashMap<_, Vec<(f64, u64)>> = HashMap::new();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix(OWN_METRIC) else {
                continue;
            };
            let Some((labels, value)) = rest.split_once("} ") else {
                continue;
            };
            let labels: HashMap<&str, &str> = labels
                .split("\",")
                .filter_map(|pair| pair.split_once("=\""))
                .map(|(k, v)| (k, v.trim_end_matches('"')))
                .collect();
            let label = |k: &str| labels.get(k).copied().unwrap_or_default().to_string();
            let le = match label("le").as_str() {
                "+Inf" => f64::INFINITY,
                le => le.parse().unwrap_or(f64::INFINITY),
            };
            let count = value.split_whitespace().next().and_then(|v| v.parse().ok());
            series
                .entry((label("route"), label("method"), label("status")))
                .or_default()
                .push((le, count.unwrap_or(0)));
        }
        for buckets in series.values_mut() {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        OwnTimes(series)
    }

    /// What was observed between `before` and `self` for `route` and
    /// `method`, over the statuses `status` accepts: cumulative buckets.
    pub fn since(
        &self,
        before: &OwnTimes,
        route: &str,
        method: &str,
        status: impl Fn(&str) -> bool,
    ) -> Vec<(f64, u64)> {
        let mut total: Vec<(f64, u64)> = Vec::new();
        for ((r, m, s), buckets) in &self.0 {
            if r != route || m != method || !status(s) {
                continue;
            }
            let earlier = before.0.get(&(r.clone(), m.clone(), s.clone()));
            for (i, (le, count)) in buckets.iter().enumerate() {
                let old = earlier.and_then(|e| e.get(i)).map_or(0, |b| b.1);
                match total.get_mut(i) {
                    Some(slot) => slot.1 += count - old,
                    None => total.push((*le, count - old)),
                }
            }
        }
        total
    }
}

/// Adds `more` to `total`, bucket by bucket (the same bounds, or none yet).
pub fn add_buckets(total: &mut Vec<(f64, u64)>, more: &[(f64, u64)]) {
    if total.is_empty() {
        total.extend_from_slice(more);
        return;
    }
    for (slot, (_, count)) in total.iter_mut().zip(more) {
        slot.1 += count;
    }
}

/// The `q` quantile of cumulative buckets, interpolated linearly inside its
/// bucket (as Prometheus' histogram_quantile does), in milliseconds.
pub fn bucket_quantile(buckets: &[(f64, u64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let (mut lower, mut below) = (0.0, 0u64);
    for &(le, count) in buckets {
        if count as f64 >= rank {
            if le.is_infinite() {
                return Some(lower * 1000.0);
            }
            let share = (rank - below as f64) / (count - below).max(1) as f64;
            return Some((lower + (le - lower) * share) * 1000.0);
        }
        (lower, below) = (le, count);
    }
    None
}

/// The share of observations at or under `le` seconds (a bucket bound).
pub fn share_within(buckets: &[(f64, u64)], le: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    let within = buckets.iter().find(|b| (b.0 - le).abs() < 1e-9)?.1;
    (total > 0).then(|| within as f64 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_times_parse_and_subtract() {
        let before = OwnTimes::parse(
            "gatehouse_http_request_own_duration_seconds_bucket{le=\"0.001\",route=\"/login\",method=\"GET\",status=\"200\"} 1\n\
             gatehouse_http_request_own_duration_seconds_bucket{le=\"+Inf\",route=\"/login\",method=\"GET\",status=\"200\"} 2\n",
        );
        let after = OwnTimes::parse(
            "gatehouse_http_request_own_duration_seconds_bucket{route=\"/login\",method=\"GET\",status=\"200\",le=\"0.001\"} 91\n\
             gatehouse_http_request_own_duration_seconds_bucket{route=\"/login\",method=\"GET\",status=\"200\",le=\"+Inf\"} 102\n\
             gatehouse_http_request_own_duration_seconds_bucket{route=\"/login\",method=\"POST\",status=\"200\",le=\"+Inf\"} 7\n",
        );
        let buckets = after.since(&before, "/login", "GET", |s| s == "200");
        assert_eq!(buckets, vec![(0.001, 90), (f64::INFINITY, 100)]);
        assert_eq!(share_within(&buckets, 0.001), Some(0.9));
        let p50 = bucket_quantile(&buckets, 0.5).unwrap();
        assert!((p50 - 0.5556).abs() < 0.001, "{p50}");
        // Beyond the last finite bound: the bound is all that is known.
        assert_eq!(bucket_quantile(&buckets, 0.99), Some(1.0));
    }
}
