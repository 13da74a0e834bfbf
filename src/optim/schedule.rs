//! Learning-rate schedules, evaluated on the host once per step (or epoch) in f64.

/// A learning rate as a function of the step (or epoch) index `t`, counted from 0.
#[derive(Clone, Debug, PartialEq)]
pub enum LrSchedule {
    Constant {
        lr: f64,
    },
    /// `base * (1 - t/total)^power` (HiNAS retraining: per iteration, power 0.9).
    Poly {
        base: f64,
        power: f64,
        total: usize,
    },
    /// HiNAS' `PolyCosineAnnealingLR` (search, per epoch):
    /// `eta_min + (base - eta_min) * (1 + cos(pi t / t_max)) / 2 * (1 - t/total)^power`,
    /// a cosine of period `2 t_max` damped by a poly decay.
    PolyCosine {
        base: f64,
        eta_min: f64,
        t_max: usize,
        total: usize,
        power: f64,
    },
}

/// `(1 - t/total)^power`, 0 from `total` on (instead of NaN past the end).
fn poly(t: usize, total: usize, power: f64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    (1.0 - t.min(total) as f64 / total as f64).powf(power)
}

impl LrSchedule {
    pub fn lr(&self, t: usize) -> f64 {
        match *self {
            LrSchedule::Constant { lr } => lr,
            LrSchedule::Poly { base, power, total } => base * poly(t, total, power),
            LrSchedule::PolyCosine {
                base,
                eta_min,
                t_max,
                total,
                power,
            } => {
                let cos = (std::f64::consts::PI * t as f64 / t_max.max(1) as f64).cos();
                eta_min + (base - eta_min) * (1.0 + cos) / 2.0 * poly(t, total, power)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LrSchedule;

    /// The values docs/method.md §4 quotes for the HiNAS search schedule.
    #[test]
    fn poly_cosine_matches_hinas_search_values() {
        let s = LrSchedule::PolyCosine {
            base: 0.025,
            eta_min: 0.001,
            t_max: 10,
            total: 100,
            power: 0.9,
        };
        assert!((s.lr(0) - 0.025).abs() < 1e-15);
        for (e, want) in [
            (10, 0.001),
            (20, 0.0206),
            (40, 0.0162),
            (60, 0.0115),
            (100, 0.001),
        ] {
            let got = s.lr(e);
            assert!((got - want).abs() < 5e-5, "e={e}: {got} vs {want}");
        }
        // Exact values of the formula at the quoted epochs.
        assert!((s.lr(20) - (0.001 + 0.024 * 0.8f64.powf(0.9))).abs() < 1e-15);
        assert!((s.lr(60) - (0.001 + 0.024 * 0.4f64.powf(0.9))).abs() < 1e-15);
        assert!(s.lr(150).is_finite());
    }

    #[test]
    fn poly_and_constant() {
        let s = LrSchedule::Poly {
            base: 0.05,
            power: 0.9,
            total: 600_000,
        };
        assert_eq!(s.lr(0), 0.05);
        assert!((s.lr(300_000) - 0.05 * 0.5f64.powf(0.9)).abs() < 1e-15);
        assert_eq!(s.lr(600_000), 0.0);
        assert_eq!(s.lr(700_000), 0.0);
        assert_eq!(LrSchedule::Constant { lr: 1e-3 }.lr(12345), 1e-3);
    }
}
