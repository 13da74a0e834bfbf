//! The statistics of a sweep report: mean, sample standard deviation, Student-t confidence
//! intervals, Welch's unequal-variance t-test and a percentile bootstrap of a difference of means.

use rand::{Rng, SeedableRng};
use statrs::distribution::{ContinuousCDF, StudentsT};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n - 1); 0 for one value.
    pub std: f64,
    /// 95 % t-interval of the mean; None below two values.
    pub ci: Option<(f64, f64)>,
}

fn t_quantile(p: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df)
        .expect("positive degrees of freedom")
        .inverse_cdf(p)
}

pub fn summarize(x: &[f64]) -> Summary {
    let n = x.len();
    let mean = x.iter().sum::<f64>() / n.max(1) as f64;
    let var = if n > 1 {
        x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    let std = var.sqrt();
    let ci = (n > 1).then(|| {
        let h = t_quantile(0.975, (n - 1) as f64) * std / (n as f64).sqrt();
        (mean - h, mean + h)
    });
    Summary { n, mean, std, ci }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Welch {
    /// mean(a) - mean(b).
    pub diff: f64,
    pub t: f64,
    /// Welch-Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// Welch's t-test of mean(a) = mean(b); None when a group has fewer than two values or both
/// groups are constant (no variance to test against).
pub fn welch(a: &[f64], b: &[f64]) -> Option<Welch> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (sa, sb) = (summarize(a), summarize(b));
    let (va, vb) = (
        sa.std.powi(2) / a.len() as f64,
        sb.std.powi(2) / b.len() as f64,
    );
    let se2 = va + vb;
    if se2 <= 0.0 {
        return None;
    }
    let diff = sa.mean - sb.mean;
    let t = diff / se2.sqrt();
    let df = se2.powi(2) / (va.powi(2) / (a.len() - 1) as f64 + vb.powi(2) / (b.len() - 1) as f64);
    let dist = StudentsT::new(0.0, 1.0, df).expect("positive degrees of freedom");
    let p = (2.0 * (1.0 - dist.cdf(t.abs()))).clamp(0.0, 1.0);
    Some(Welch { diff, t, df, p })
}

/// 95 % percentile-bootstrap interval of mean(a) - mean(b) (each group resampled with
/// replacement, fixed seed so a report is reproducible); None if a group has fewer than two
/// values: one value resamples to itself, so the interval would show only the other group's
/// spread and read as a certainty that one seed cannot give.
pub fn bootstrap_diff(a: &[f64], b: &[f64], resamples: usize, seed: u64) -> Option<(f64, f64)> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mean_of = |x: &[f64], rng: &mut rand_chacha::ChaCha8Rng| {
        (0..x.len())
            .map(|_| x[rng.random_range(0..x.len())])
            .sum::<f64>()
            / x.len() as f64
    };
    let mut diffs: Vec<f64> = (0..resamples)
        .map(|_| mean_of(a, &mut rng) - mean_of(b, &mut rng))
        .collect();
    diffs.sort_by(f64::total_cmp);
    let at = |q: f64| diffs[((q * (resamples - 1) as f64).round() as usize).min(resamples - 1)];
    Some((at(0.025), at(0.975)))
}
