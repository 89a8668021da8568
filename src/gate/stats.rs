//! The gate's statistics, as criterion.rs decides a change (its `analysis/compare.rs`): Welch's
//! t-test for significance (two-sided, p < 0.05), and a bootstrap 95% confidence interval of the
//! relative change of the mean (percentile method, 10 000 resamples). A change is a regression
//! only when it is significant *and* the whole interval lies beyond the noise threshold on the
//! worse side.
//!
//! Segments of one repeat share that repeat's conditions (load, clocks, cache), so they are not
//! independent: a [`Sample`] is a list of clusters (one per repeat), each split into strata (the
//! source segment a row transcoded, so a resample keeps the mix of long and short segments). The
//! bootstrap is two-stage — repeats with replacement, then rows within each stratum of each drawn
//! repeat (Davison & Hinkley, *Bootstrap Methods*, 1997, §3.8) — and Welch's test compares the
//! repeats' means when both sides have two repeats or more (else the rows themselves), on a log
//! scale (the gate asks about a ratio, and timing spread grows with the level).
//!
//! Student's t distribution comes from the regularised incomplete beta function, evaluated by
//! its continued fraction (Numerical Recipes, 3rd ed., §6.4, Lentz's method). The resampler is
//! splitmix64 with a fixed seed, so a gate decision is reproducible bit for bit.

/// Resamples for a bootstrap interval (criterion's default is 100 000; 10 000 keeps the percentile
/// bounds stable to about ±0.1 % at the sample sizes a run gives).
pub const RESAMPLES: usize = 10_000;
/// The seed of every resample: the same inputs give the same interval.
pub const SEED: u64 = 0x5EED_0FC0_FFEE;

/// Arithmetic mean; NaN for an empty sample.
pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample variance (n − 1); NaN below two values.
pub fn variance(x: &[f64]) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)
}

/// Welch's unequal-variance t-test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// Welch's t-test of `a` against `b`; None below two values a side. Two constant, equal samples
/// give p = 1; two constant, different ones p = 0.
pub fn welch(a: &[f64], b: &[f64]) -> Option<Welch> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (va, vb) = (variance(a) / a.len() as f64, variance(b) / b.len() as f64);
    let diff = mean(b) - mean(a);
    let se2 = va + vb;
    if se2 <= 0.0 {
        let p = if diff == 0.0 { 1.0 } else { 0.0 };
        return Some(Welch {
            t: if diff == 0.0 {
                0.0
            } else {
                diff.signum() * f64::INFINITY
            },
            df: (a.len() + b.len() - 2) as f64,
            p,
        });
    }
    let t = diff / se2.sqrt();
    let df = se2 * se2 / (va * va / (a.len() as f64 - 1.0) + vb * vb / (b.len() as f64 - 1.0));
    Some(Welch {
        t,
        df,
        p: t_two_sided_p(t, df),
    })
}

/// Two-sided p-value of Student's t with `df` degrees of freedom: I_{df/(df+t²)}(df/2, 1/2).
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return 0.0;
    }
    reg_inc_beta(df / 2.0, 0.5, df / (df + t * t)).clamp(0.0, 1.0)
}

/// The regularised incomplete beta function I_x(a, b).
pub fn reg_inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

/// The continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// splitmix64: small, fast, and the same sequence everywhere.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (n > 0), by Lemire's multiply-shift (bias below 2⁻³² for small n).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// A sample split into strata (e.g. per source segment); a resample draws within each.
#[derive(Debug, Clone, PartialEq)]
pub struct Strata(pub Vec<Vec<f64>>);

impl Strata {
    /// One stratum holding everything.
    pub fn single(values: Vec<f64>) -> Self {
        Strata(vec![values])
    }
    pub fn len(&self) -> usize {
        self.0.iter().map(Vec::len).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn flat(&self) -> Vec<f64> {
        self.0.iter().flatten().copied().collect()
    }
    fn resampled_mean(&self, rng: &mut SplitMix64) -> f64 {
        let mut sum = 0.0;
        let mut n = 0usize;
        for s in &self.0 {
            for _ in 0..s.len() {
                sum += s[rng.below(s.len())];
            }
            n += s.len();
        }
        sum / n as f64
    }
}

/// A point estimate with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Interval {
    pub estimate: f64,
    pub lower: f64,
    pub upper: f64,
}

/// A clustered sample: one [`Strata`] per repeat.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample(pub Vec<Strata>);

impl Sample {
    /// One cluster, one stratum.
    pub fn single(values: Vec<f64>) -> Self {
        Sample(vec![Strata::single(values)])
    }
    /// One value per cluster (per-repeat figures).
    pub fn per_cluster(values: Vec<f64>) -> Self {
        Sample(
            values
                .into_iter()
                .map(|v| Strata::single(vec![v]))
                .collect(),
        )
    }
    pub fn len(&self) -> usize {
        self.0.iter().map(Strata::len).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn flat(&self) -> Vec<f64> {
        self.0.iter().flat_map(Strata::flat).collect()
    }
    fn clusters(&self) -> Vec<&Strata> {
        self.0.iter().filter(|c| !c.is_empty()).collect()
    }
    /// The mean of each non-empty cluster.
    pub fn cluster_means(&self) -> Vec<f64> {
        self.clusters().iter().map(|c| mean(&c.flat())).collect()
    }
    /// The values Welch's test compares: cluster means with two clusters or more, else rows.
    pub fn test_values(&self) -> Vec<f64> {
        if self.clusters().len() >= 2 {
            self.cluster_means()
        } else {
            self.flat()
        }
    }
    fn resampled_mean(&self, rng: &mut SplitMix64) -> f64 {
        let clusters = self.clusters();
        if clusters.len() == 1 {
            return clusters[0].resampled_mean(rng);
        }
        let (mut sum, mut n) = (0.0, 0usize);
        for _ in 0..clusters.len() {
            let c = clusters[rng.below(clusters.len())];
            sum += c.resampled_mean(rng) * c.len() as f64;
            n += c.len();
        }
        sum / n as f64
    }
}

/// The bootstrap 95% interval of mean(candidate) / mean(baseline) − 1.
pub fn relative_change(baseline: &Sample, candidate: &Sample) -> Option<Interval> {
    if baseline.is_empty() || candidate.is_empty() {
        return None;
    }
    let (mb, mc) = (mean(&baseline.flat()), mean(&candidate.flat()));
    if mb == 0.0 || !mb.is_finite() || !mc.is_finite() {
        return None;
    }
    let mut rng = SplitMix64::new(SEED);
    let mut changes: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let b = baseline.resampled_mean(&mut rng);
            let c = candidate.resampled_mean(&mut rng);
            c / b - 1.0
        })
        .filter(|v| v.is_finite())
        .collect();
    if changes.is_empty() {
        return None;
    }
    changes.sort_by(f64::total_cmp);
    Some(Interval {
        estimate: mc / mb - 1.0,
        lower: percentile_sorted(&changes, 2.5),
        upper: percentile_sorted(&changes, 97.5),
    })
}

/// The bootstrap 95% interval of one sample's mean.
pub fn mean_interval(sample: &Sample) -> Option<Interval> {
    if sample.is_empty() {
        return None;
    }
    let mut rng = SplitMix64::new(SEED);
    let mut means: Vec<f64> = (0..RESAMPLES)
        .map(|_| sample.resampled_mean(&mut rng))
        .collect();
    means.sort_by(f64::total_cmp);
    Some(Interval {
        estimate: mean(&sample.flat()),
        lower: percentile_sorted(&means, 2.5),
        upper: percentile_sorted(&means, 97.5),
    })
}

/// Linear-interpolation percentile of a sorted, non-empty sample.
fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn t_distribution_matches_tables() {
        // Two-sided critical values: p(t, df) from standard tables.
        let cases = [
            (2.228, 10.0, 0.05),
            (1.96, 1e6, 0.05),
            (2.576, 1e6, 0.01),
            (12.706, 1.0, 0.05),
            (0.0, 5.0, 1.0),
            (4.303, 2.0, 0.05),
        ];
        for (t, df, want) in cases {
            let p = t_two_sided_p(t, df);
            assert!(close(p, want, 5e-4), "t {t} df {df}: p {p}, want {want}");
        }
    }

    #[test]
    fn ln_gamma_known_values() {
        for (x, want) in [
            (1.0, 0.0),
            (2.0, 0.0),
            (5.0, 24f64.ln()),
            (0.5, std::f64::consts::PI.sqrt().ln()),
        ] {
            assert!(close(ln_gamma(x), want, 1e-10), "x {x}");
        }
    }

    #[test]
    fn welch_cases() {
        // Same samples: no difference.
        let a = [1.0, 2.0, 3.0, 4.0];
        let w = welch(&a, &a).unwrap();
        assert_eq!(w.t, 0.0);
        assert!(close(w.p, 1.0, 1e-12));
        // A clear shift.
        let b = [11.0, 12.0, 13.0, 14.0];
        assert!(welch(&a, &b).unwrap().p < 1e-4);
        // Constant samples.
        assert_eq!(welch(&[2.0, 2.0], &[2.0, 2.0]).unwrap().p, 1.0);
        assert_eq!(welch(&[2.0, 2.0], &[3.0, 3.0]).unwrap().p, 0.0);
        // Too small.
        assert!(welch(&[1.0], &a).is_none());
        // Textbook: t and df of Welch (a = 1..4, c = 2,4,6,8): diff 2.5, se² = 1.6667/4 + 6.6667/4.
        let c = [2.0, 4.0, 6.0, 8.0];
        let w = welch(&a, &c).unwrap();
        assert!(close(w.t, 2.5 / (8.3333333 / 4.0f64).sqrt(), 1e-6), "{w:?}");
        assert!(close(w.df, 4.4118, 1e-3), "{w:?}");
    }

    #[test]
    fn bootstrap_brackets_the_true_change() {
        let base: Vec<f64> = (0..60).map(|i| 1.0 + 0.01 * f64::from(i % 7)).collect();
        let slow: Vec<f64> = base.iter().map(|v| v * 2.0).collect();
        let i = relative_change(&Sample::single(base.clone()), &Sample::single(slow)).unwrap();
        assert!(close(i.estimate, 1.0, 1e-12));
        assert!(
            i.lower <= 1.0 + 1e-9 && i.upper >= 1.0 - 1e-9 && i.lower > 0.9,
            "{i:?}"
        );
        let same = relative_change(&Sample::single(base.clone()), &Sample::single(base)).unwrap();
        assert!(same.lower < 0.0 && same.upper > 0.0, "{same:?}");
        assert!(relative_change(&Sample::single(vec![]), &Sample::single(vec![1.0])).is_none());
        assert!(relative_change(&Sample::single(vec![0.0]), &Sample::single(vec![1.0])).is_none());
    }

    #[test]
    fn a_shift_between_repeats_widens_the_interval() {
        // Three repeats whose rows agree closely but whose levels differ: resampling rows alone
        // would claim a tight interval; resampling repeats first does not.
        let rows =
            |level: f64| Strata::single((0..10).map(|i| level + 0.001 * f64::from(i)).collect());
        let base = Sample(vec![rows(1.0), rows(1.2), rows(0.8)]);
        let flat = Sample::single(base.flat());
        let cand = Sample(vec![rows(1.1), rows(1.3), rows(0.9)]);
        let c = relative_change(&base, &cand).unwrap();
        let f = relative_change(&flat, &Sample::single(cand.flat())).unwrap();
        assert!(
            c.upper - c.lower > 2.0 * (f.upper - f.lower),
            "{c:?} vs {f:?}"
        );
    }

    #[test]
    fn resampling_is_deterministic() {
        let s = Sample(vec![
            Strata(vec![vec![1.0, 2.0, 3.0], vec![10.0, 11.0]]),
            Strata(vec![vec![1.5, 2.5], vec![12.0]]),
        ]);
        assert_eq!(mean_interval(&s), mean_interval(&s));
        assert_eq!(s.test_values(), vec![27.0 / 5.0, 16.0 / 3.0]);
        let i = mean_interval(&s).unwrap();
        assert!(i.lower <= i.estimate && i.estimate <= i.upper, "{i:?}");
        let mut r = SplitMix64::new(1);
        assert!((0..1000).all(|_| r.below(3) < 3));
    }
}
