//! Statistics of the market: spread over replications and concentration of stake.
//!
//! ## Where the methods come from
//! - Percentiles are nearest-rank (the rule the rest of rigbench uses, `metering::bandwidth`).
//! - Gini coefficient: the mean absolute difference over twice the mean, computed on sorted
//!   values as G = Σ (2i − n − 1) x_i / (n Σ x) with i = 1..n (the standard sorted-sample form).
//! - Nakamoto coefficient at one third: the fewest orchestrators whose stake together exceeds
//!   1/3 of all stake (Srinivasan and Lee, 2017; one third is the share that can stall a BFT-style
//!   quorum, the threshold usually quoted for proof-of-stake networks).
//! - Top-5 share: the stake of the five largest over all stake.

use serde::{Deserialize, Serialize};

use crate::metering::bandwidth::percentile_nearest_rank;

/// Mean and spread of one figure over the replications.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Mean over replications.
    pub mean: f64,
    /// Sample standard deviation over replications (0 with one replication).
    pub sd: f64,
    /// 5th percentile over replications (nearest rank).
    pub p5: f64,
    /// 95th percentile over replications (nearest rank).
    pub p95: f64,
}

impl Spread {
    /// The spread of `values` (replications); all zeros for an empty slice.
    pub fn of(values: &[f64]) -> Spread {
        if values.is_empty() {
            return Spread {
                mean: 0.0,
                sd: 0.0,
                p5: 0.0,
                p95: 0.0,
            };
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = if values.len() > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Spread {
            mean,
            sd,
            p5: percentile_nearest_rank(values, 5.0).unwrap_or(mean),
            p95: percentile_nearest_rank(values, 95.0).unwrap_or(mean),
        }
    }
}

/// Gini coefficient of non-negative values (0 = equal, → 1 = one holds all); 0 when all are 0.
pub fn gini(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let total: f64 = v.iter().sum();
    if v.is_empty() || total <= 0.0 {
        return 0.0;
    }
    let weighted: f64 = v
        .iter()
        .enumerate()
        .map(|(i, x)| (2.0 * (i as f64 + 1.0) - n - 1.0) * x)
        .sum();
    weighted / (n * total)
}

/// Fewest holders whose values together exceed `threshold` of the total (0 when the total is 0).
pub fn nakamoto(values: &[f64], threshold: f64) -> u32 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(|a, b| b.total_cmp(a));
    let total: f64 = v.iter().sum();
    if total <= 0.0 {
        return 0;
    }
    let mut sum = 0.0;
    for (i, x) in v.iter().enumerate() {
        sum += x;
        if sum > threshold * total {
            return i as u32 + 1;
        }
    }
    v.len() as u32
}

/// Share of the total held by the `k` largest values.
pub fn top_share(values: &[f64], k: usize) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(|a, b| b.total_cmp(a));
    let total: f64 = v.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    v.iter().take(k).sum::<f64>() / total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concentration_measures_table() {
        // (values, gini, nakamoto at 1/3, top-2 share)
        let cases: [(&[f64], f64, u32, f64); 5] = [
            (&[1.0, 1.0, 1.0, 1.0], 0.0, 2, 0.5),
            (&[0.0, 0.0, 0.0, 4.0], 0.75, 1, 1.0),
            (&[1.0, 2.0, 3.0, 4.0], 0.25, 1, 0.7),
            (&[3.0, 1.0, 1.0, 1.0, 1.0, 1.0], 10.0 / 48.0, 1, 0.5),
            (&[0.0, 0.0], 0.0, 0, 0.0),
        ];
        for (v, g, n, t) in cases {
            assert!((gini(v) - g).abs() < 1e-12, "{v:?}: gini {}", gini(v));
            assert_eq!(nakamoto(v, 1.0 / 3.0), n, "{v:?}");
            assert!((top_share(v, 2) - t).abs() < 1e-12, "{v:?}");
        }
    }

    #[test]
    fn spread_of_replications() {
        let s = Spread::of(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.mean, 3.0);
        assert!((s.sd - 2.5f64.sqrt()).abs() < 1e-12);
        assert_eq!((s.p5, s.p95), (1.0, 5.0));
        assert_eq!(Spread::of(&[7.0]).sd, 0.0);
    }
}
