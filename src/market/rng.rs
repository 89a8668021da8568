//! The market's random numbers: xoshiro256** seeded through splitmix64 (Blackman and Vigna,
//! "Scrambled linear pseudorandom number generators", 2021; both are public domain), with the
//! few distributions the simulation draws from. Hand-written so that a seed gives the same
//! stream bit for bit on every build, whatever a crate's next version does.

/// splitmix64: expands one 64-bit seed into well-mixed words (seeding xoshiro, deriving the
/// seeds of replications).
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of replication `index` of a run seeded `seed`: independent streams per replication.
pub fn replication_seed(seed: u64, index: u64) -> u64 {
    let mut s = seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
    splitmix64(&mut s)
}

/// xoshiro256**.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut sm = seed;
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Rng { s }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1), 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in (0, 1]: safe under `ln`.
    fn uniform_open0(&mut self) -> f64 {
        1.0 - self.uniform()
    }

    /// Exponential with the given rate (mean 1 / rate).
    pub fn exponential(&mut self, rate: f64) -> f64 {
        -self.uniform_open0().ln() / rate
    }

    /// Standard normal (Box–Muller; one of the pair is discarded to keep the state simple).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform_open0();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Log-normal with median `median` and log-space standard deviation `sigma`.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Number of Bernoulli(p) trials up to and including the first success (≥ 1); `u64::MAX`
    /// when p is 0.
    pub fn geometric(&mut self, p: f64) -> u64 {
        if p <= 0.0 {
            return u64::MAX;
        }
        if p >= 1.0 {
            return 1;
        }
        let k = (self.uniform_open0().ln() / (-p).ln_1p()).ceil();
        if k.is_finite() && k < u64::MAX as f64 {
            (k as u64).max(1)
        } else {
            u64::MAX
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_reference_values() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        // splitmix64's published first output for seed 0.
        let mut s = 0u64;
        assert_eq!(splitmix64(&mut s), 0xE220_A839_7B1D_CDAF);
        assert_ne!(replication_seed(1, 0), replication_seed(1, 1));
    }

    #[test]
    fn distributions_have_their_means() {
        let mut r = Rng::new(7);
        let n = 200_000;
        type Draw = Box<dyn Fn(&mut Rng) -> f64>;
        let cases: [(&str, f64, f64, Draw); 4] = [
            ("uniform", 0.5, 0.01, Box::new(|r| r.uniform())),
            (
                "exponential(2)",
                0.5,
                0.01,
                Box::new(|r| r.exponential(2.0)),
            ),
            ("normal", 0.0, 0.01, Box::new(|r| r.normal())),
            (
                "geometric(0.25)",
                4.0,
                0.05,
                Box::new(|r| r.geometric(0.25) as f64),
            ),
        ];
        for (name, mean, tol, draw) in cases {
            let m: f64 = (0..n).map(|_| draw(&mut r)).sum::<f64>() / n as f64;
            assert!((m - mean).abs() < tol, "{name}: mean {m}, expected {mean}");
        }
        let mut v: Vec<f64> = (0..n).map(|_| r.lognormal(3.0, 1.0)).collect();
        v.sort_by(f64::total_cmp);
        assert!(
            (v[n / 2] - 3.0).abs() < 0.05,
            "lognormal median {}",
            v[n / 2]
        );
        assert_eq!(r.geometric(0.0), u64::MAX);
        assert_eq!(r.geometric(1.0), 1);
    }
}
