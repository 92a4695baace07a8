//! Oracle: the S1 power-law baseline is the momentum law with `C = 0` (both warmup
//! conventions, real schedules), and its S1 is Tissue et al.'s published demo area.

mod common;

use common::{mpl_curve, mpl_schedule};
use shared::laws::Law;
use shared::laws::momentum::{MomentumLaw, WarmupConvention};
use shared::laws::power_s1::PowerS1Law;
use shared::schedule::{Schedule, WarmupRamp};

#[test]
fn equals_the_momentum_law_without_its_annealing_term() {
    let p = [2.9, 0.45, 0.55];
    for name in ["cosine_24000", "wsd_20000_24000", "wsdcon_3"] {
        let lrs = mpl_schedule(name).to_array();
        let (steps, _) = mpl_curve("25", name);
        for conv in [
            WarmupConvention::AtPeak { warmup: 2160 },
            WarmupConvention::Literal,
        ] {
            let power = PowerS1Law::new(&lrs, &steps, conv).unwrap();
            let momentum = MomentumLaw::new(&lrs, &steps, 0.999, conv).unwrap();
            let (v, j) = power.predict_with_jacobian(&p).unwrap();
            let (mv, mj) = momentum
                .predict_with_jacobian(&[p[0], p[1], p[2], 0.0])
                .unwrap();
            for i in 0..v.len() {
                assert!((v[i] - mv[i]).abs() <= 1e-15 * mv[i], "{name} {conv:?}");
                for c in 0..3 {
                    assert_eq!(j[i * 3 + c], mj[i * 4 + c], "{name} {conv:?} column {c}");
                }
            }
        }
    }
}

#[test]
fn s1_of_the_published_demo() {
    // Tissue et al.'s demo: peak 2e-4, min 0, warmup 500 counted at the peak; published
    // S1(20000) = 2.0501 (cosine), 4.0002 (constant), to 5 significant digits.
    for (schedule, want) in [
        (
            Schedule::Cosine {
                peak: 2e-4,
                final_lr: 0.0,
                warmup: 500,
                ramp: WarmupRamp::Zero,
                total: 20000,
            },
            2.0501,
        ),
        (
            Schedule::Constant {
                peak: 2e-4,
                warmup: 500,
                ramp: WarmupRamp::Zero,
                total: 20000,
            },
            4.0002,
        ),
    ] {
        let law = PowerS1Law::new(
            &schedule.to_array_len(20001),
            &[20000],
            WarmupConvention::AtPeak { warmup: 500 },
        )
        .unwrap();
        assert!((law.s1()[0] - want).abs() <= 5e-5, "{}", law.s1()[0]);
        // L0 + A S1^-alpha at the momentum oracle's L0, A, alpha.
        let v = law.predict(&[2.62780, 0.429666, 0.549845]).unwrap()[0];
        let direct = 2.62780 + 0.429666 * law.s1()[0].powf(-0.549845);
        assert_eq!(v, direct);
    }
}
