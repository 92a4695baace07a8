//! Schedules: closed forms, the real logged LR columns, text/JSON forms and their errors.

mod common;

use common::Rng;
use shared::schedule::{DecayShape, Schedule, ScheduleError, WarmupRamp};
use std::f64::consts::PI;

fn random_ramp(rng: &mut Rng) -> WarmupRamp {
    [WarmupRamp::Zero, WarmupRamp::Linspace, WarmupRamp::Shifted][rng.int(0, 2) as usize]
}

/// A random valid schedule of every kind (the kind cycles with `i`).
pub fn random_schedule(rng: &mut Rng, i: usize) -> Schedule {
    let total = rng.int(1, 5000);
    let warmup = if rng.unif() < 0.3 {
        0
    } else {
        rng.int(0, total / 3)
    };
    let ramp = random_ramp(rng);
    let peak = rng.log_range(1e-5, 1e-2);
    let final_lr = if rng.unif() < 0.2 {
        0.0
    } else {
        peak * rng.range(0.0, 1.0)
    };
    match i % 8 {
        0 => Schedule::Constant {
            peak,
            warmup,
            ramp,
            total,
        },
        1 => Schedule::Cosine {
            peak,
            final_lr,
            warmup,
            ramp,
            total,
        },
        2 => Schedule::Linear {
            peak,
            final_lr,
            warmup,
            ramp,
            total,
        },
        3 => {
            let by_fraction = rng.unif() < 0.5;
            Schedule::Wsd {
                peak,
                final_lr,
                warmup,
                ramp,
                total,
                decay: by_fraction.then(|| rng.range(0.0, 1.0)),
                decay_start: (!by_fraction).then(|| rng.int(warmup, total)),
                shape: DecayShape::ALL[rng.int(0, 4) as usize],
            }
        }
        4 => Schedule::MultiStep {
            peak,
            warmup,
            ramp,
            total,
            milestones: vec![rng.range(0.3, 0.7), rng.range(0.7, 1.0)],
            factor: rng.range(0.1, 1.0),
        },
        5 => Schedule::TwoStage {
            peak,
            warmup,
            ramp,
            total,
            switch: rng.int(warmup, total),
            lr2: final_lr,
        },
        6 => Schedule::InverseSqrt {
            peak,
            warmup,
            ramp,
            total,
        },
        _ => Schedule::Array {
            lrs: (0..rng.int(1, 300)).map(|_| rng.range(0.0, 1e-3)).collect(),
        },
    }
}

/// Independent restatement of every formula in the `schedule` docs.
fn closed_form(s: &Schedule, t: u64) -> f64 {
    if let Schedule::Array { lrs } = s {
        return lrs[(t as usize).min(lrs.len() - 1)];
    }
    let (peak, w, total, tf) = (s.peak(), s.warmup(), s.total(), t as f64);
    if t < w {
        return match s.ramp() {
            WarmupRamp::Zero => peak * tf / w as f64,
            WarmupRamp::Linspace => {
                if w == 1 {
                    0.0
                } else {
                    peak * tf / (w - 1) as f64
                }
            }
            WarmupRamp::Shifted => peak * (tf + 1.0) / w as f64,
        };
    }
    let prog = |start: u64| {
        if total <= start {
            1.0
        } else {
            ((tf - start as f64) / (total - start) as f64).min(1.0)
        }
    };
    match s {
        Schedule::Constant { .. } => peak,
        Schedule::Cosine { final_lr, .. } => {
            final_lr + (peak - final_lr) * 0.5 * (1.0 + (PI * prog(w)).cos())
        }
        Schedule::Linear { final_lr, .. } => peak + (final_lr - peak) * prog(w),
        Schedule::Wsd {
            final_lr,
            decay,
            decay_start,
            shape,
            ..
        } => {
            let d = decay_start
                .unwrap_or_else(|| total - (decay.unwrap() * total as f64).round() as u64)
                .max(w);
            if t < d {
                return peak;
            }
            let p = prog(d);
            match shape {
                DecayShape::Linear => final_lr + (peak - final_lr) * (1.0 - p),
                DecayShape::Sqrt => final_lr + (peak - final_lr) * (1.0 - p.sqrt()),
                DecayShape::Cosine => final_lr + (peak - final_lr) * 0.5 * (1.0 + (PI * p).cos()),
                DecayShape::Square => final_lr + (peak - final_lr) * (1.0 - p * p),
                DecayShape::Geometric => peak.powf(1.0 - p) * final_lr.powf(p),
            }
        }
        Schedule::MultiStep {
            milestones, factor, ..
        } => {
            let n = milestones
                .iter()
                .filter(|m| tf >= (*m * total as f64).round())
                .count();
            peak * factor.powi(n as i32)
        }
        Schedule::TwoStage { switch, lr2, .. } => {
            if t < *switch {
                peak
            } else {
                *lr2
            }
        }
        Schedule::InverseSqrt { .. } => peak * (w.max(1) as f64 / tf.max(w.max(1) as f64)).sqrt(),
        Schedule::Array { .. } => unreachable!(),
    }
}

#[test]
fn arrays_are_finite_nonnegative_and_match_closed_forms() {
    // Property: 800 random schedules (100 per kind); tolerance 1e-12 relative to peak.
    let mut rng = Rng::new(1);
    for i in 0..800 {
        let s = random_schedule(&mut rng, i);
        s.validate().unwrap_or_else(|e| panic!("{s}: {e}"));
        let len = s.total() as usize + 10; // also past the end
        let arr = s.to_array_len(len);
        assert_eq!(s.to_array().len(), s.total() as usize);
        let scale = s.peak().max(1e-300);
        for (t, &v) in arr.iter().enumerate() {
            assert!(v.is_finite() && v >= 0.0, "{s} at {t}: {v}");
            let want = closed_form(&s, t as u64);
            assert!(
                (v - want).abs() <= 1e-12 * scale,
                "{s} at {t}: {v} vs {want}"
            );
        }
    }
}

#[test]
fn phase_boundaries() {
    let cos = Schedule::Cosine {
        peak: 3e-4,
        final_lr: 3e-5,
        warmup: 100,
        ramp: WarmupRamp::Zero,
        total: 1000,
    };
    assert_eq!(cos.eta(0), 0.0);
    assert_eq!(cos.eta(50), 1.5e-4);
    assert_eq!(cos.eta(100), 3e-4);
    assert!((cos.eta(1000) - 3e-5).abs() < 1e-18);
    assert!((cos.eta(5000) - 3e-5).abs() < 1e-18, "holds the end value");
    let lin = Schedule::Linear {
        peak: 1.0,
        final_lr: 0.0,
        warmup: 0,
        ramp: WarmupRamp::Zero,
        total: 10,
    };
    assert_eq!(
        lin.to_array(),
        (0..10).map(|t| 1.0 - t as f64 / 10.0).collect::<Vec<_>>()
    );
    let ls = Schedule::Constant {
        peak: 3e-4,
        warmup: 2160,
        ramp: WarmupRamp::Linspace,
        total: 24000,
    };
    assert_eq!(ls.eta(0), 0.0);
    assert_eq!(
        ls.eta(2159),
        3e-4,
        "numpy linspace reaches the peak at the last warmup step"
    );
    let ms = Schedule::MultiStep {
        peak: 1.0,
        warmup: 0,
        ramp: WarmupRamp::Zero,
        total: 100,
        milestones: vec![0.8, 0.9],
        factor: 10f64.powf(-0.5),
    };
    assert_eq!(ms.eta(79), 1.0);
    assert!((ms.eta(80) - 10f64.powf(-0.5)).abs() < 1e-15);
    assert!((ms.eta(90) - 0.1).abs() < 1e-15);
    let wsd = "wsd:peak=1,total=100,decay=0.2,shape=sqrt"
        .parse::<Schedule>()
        .unwrap();
    assert_eq!(wsd.decay_start(), Some(80));
    assert_eq!(wsd.eta(79), 1.0);
    assert!((wsd.eta(85) - (1.0 - 0.25f64.sqrt())).abs() < 1e-15);
}

/// Every logged LR of the multi-power-law runs equals the schedule formula (relative 1e-12).
#[test]
fn multipowerlaw_logged_lrs_match_formulas() {
    let base = "peak=3e-4,warmup=2160,ramp=linspace";
    let cases = [
        (
            "cosine_24000",
            format!("cosine:{base},final=3e-5,total=24000"),
        ),
        (
            "cosine_72000",
            format!("cosine:{base},final=3e-5,total=72000"),
        ),
        ("constant_24000", format!("constant:{base},total=24000")),
        ("constant_72000", format!("constant:{base},total=72000")),
        (
            "wsd_20000_24000",
            format!("wsd:{base},final=3e-5,total=24000,decay_start=20000,shape=geometric"),
        ),
        (
            "wsdld_20000_24000",
            format!("wsd:{base},final=3e-5,total=24000,decay_start=20000,shape=linear"),
        ),
        (
            "wsdcon_3",
            format!("two_stage:{base},total=16000,switch=8000,lr2=3e-5"),
        ),
        (
            "wsdcon_9",
            format!("two_stage:{base},total=16000,switch=8000,lr2=9e-5"),
        ),
        (
            "wsdcon_18",
            format!("two_stage:{base},total=16000,switch=8000,lr2=1.8e-4"),
        ),
    ];
    for scale in ["25", "100"] {
        for (name, text) in &cases {
            let s: Schedule = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            let (_, rows) = common::read_csv(&format!("multipowerlaw/csv_{scale}/{name}.csv"));
            for r in rows {
                let (step, lr): (u64, f64) = (r[0].parse().unwrap(), r[1].parse().unwrap());
                let got = s.eta(step);
                assert!(
                    (got - lr).abs() <= 1e-12 * lr,
                    "{name} step {step}: {got} vs logged {lr}"
                );
            }
        }
    }
}

#[test]
fn text_form_round_trips() {
    // Property: Display then parse gives back an equal schedule (500 random schedules).
    let mut rng = Rng::new(2);
    for i in 0..500 {
        let s = random_schedule(&mut rng, i);
        let text = s.to_string();
        let back: Schedule = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(back, s, "{text}");
    }
    for text in [
        "wsd:peak=3e-4,warmup=2160,total=24000,decay=0.2,shape=sqrt",
        "cosine:peak=3e-4,final=3e-5,warmup=2160,total=24000",
        "constant:peak=3e-4,total=24000",
        "multi_step:peak=1e-3,total=1e5,milestones=0.8/0.9,factor=0.316",
        "two-stage:peak=3e-4,total=16000,switch=8000,lr2=9e-5",
        "inverse_sqrt:peak=1e-3,warmup=4000,total=100000",
        "array:lrs=0/1e-4/2e-4",
        " WSD : peak = 3e-4 , total = 100 , decay_start = 80 , shape = exp ",
    ] {
        let s: Schedule = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(s.to_string().parse::<Schedule>().unwrap(), s);
    }
    assert_eq!(
        "wsd:peak=3e-4,warmup=2160,total=24000,decay=0.2,shape=sqrt"
            .parse::<Schedule>()
            .unwrap()
            .to_string(),
        "wsd:peak=3e-4,final=0,warmup=2160,total=24000,decay=0.2,shape=sqrt"
    );
}

#[test]
fn text_errors_name_the_field() {
    let err = |t: &str| t.parse::<Schedule>().unwrap_err();
    assert_eq!(err(""), ScheduleError::Empty);
    assert_eq!(
        err("cosin:peak=1,total=2"),
        ScheduleError::UnknownKind("cosin".into())
    );
    assert_eq!(
        err("cosine:peak=1"),
        ScheduleError::MissingField {
            kind: "cosine",
            field: "total"
        }
    );
    assert_eq!(
        err("cosine:peak=1,total=10,lr2=3"),
        ScheduleError::UnknownField {
            kind: "cosine",
            field: "lr2".into()
        }
    );
    assert_eq!(
        err("constant:peak=1,peak=2,total=3"),
        ScheduleError::DuplicateField("peak".into())
    );
    for (text, field) in [
        ("constant:peak=abc,total=3", "peak"),
        ("constant:peak=1,total=3.5", "total"),
        ("constant:peak=1,total=-3", "total"),
        ("wsd:peak=1,total=10,decay=0.2,shape=zigzag", "shape"),
        ("constant:peak=1,total=10,ramp=steep", "ramp"),
        ("constant:peak=inf,total=3", "peak"),
    ] {
        match err(text) {
            ScheduleError::BadValue { field: f, .. } => assert_eq!(f, field, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    for (text, field) in [
        ("constant:peak=-1,total=3", "peak"),
        ("constant:peak=1,total=0", "total"),
        ("constant:peak=1,total=100000001", "total"),
        ("constant:peak=1,total=10000001", "total"),
        ("cosine:peak=3e-4,total=1000000000000", "total"),
        ("cosine:peak=3e-4,total=1e15", "total"),
        ("constant:peak=1,warmup=5,total=3", "warmup"),
        ("wsd:peak=1,total=10,decay=1.5", "decay"),
        ("wsd:peak=1,total=10", "decay"),
        ("wsd:peak=1,total=10,decay=0.1,decay_start=5", "decay"),
        ("wsd:peak=1,warmup=5,total=10,decay_start=2", "decay_start"),
        ("two_stage:peak=1,total=10,switch=11,lr2=0.1", "switch"),
        (
            "multi_step:peak=1,total=10,milestones=0.5/2,factor=0.1",
            "milestones",
        ),
    ] {
        match err(text) {
            ScheduleError::Invalid { field: f, .. } => assert_eq!(f, field, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    // Messages are readable and mention the field.
    assert!(
        err("constant:peak=abc,total=3")
            .to_string()
            .contains("`peak`")
    );
}

/// Steps are sizes of per-step arrays: every way a user's number becomes one is bounded
/// by `MAX_STEPS` (issue 19).
#[test]
fn steps_are_bounded_by_max_steps() {
    use shared::schedule::{BeforeFirst, MAX_STEPS, check_step, reconstruct, step_index};
    assert_eq!(MAX_STEPS, 10_000_000);
    assert_eq!(
        "cosine:peak=3e-4,total=1000000000000"
            .parse::<Schedule>()
            .unwrap_err()
            .to_string(),
        "field `total`: 1000000000000 exceeds the limit of 10000000 steps (shared::schedule::MAX_STEPS)"
    );
    assert!("constant:peak=1,total=10000000".parse::<Schedule>().is_ok());

    assert_eq!(step_index(0.0), Ok(0));
    assert_eq!(step_index(100.0), Ok(100));
    assert_eq!(step_index(1e7), Ok(10_000_000));
    for (bad, message) in [
        (
            1e7 + 1.0,
            "step 10000001 is above the limit of 10000000 steps",
        ),
        (
            1e12,
            "step 1000000000000 is above the limit of 10000000 steps",
        ),
        (1e20, "step 1e20 is above the limit of 10000000 steps"),
        (
            -8.0,
            "step -8 is negative: steps count optimiser updates from 0",
        ),
        (
            2.5,
            "step 2.5 is not a whole number: steps count optimiser updates",
        ),
        (f64::NAN, "step NaN is not a finite number"),
        (f64::INFINITY, "step inf is not a finite number"),
    ] {
        assert_eq!(step_index(bad).unwrap_err().to_string(), message, "{bad}");
    }
    assert_eq!(
        check_step(50.0, 10).unwrap_err().to_string(),
        "step 50 is above the limit of 10 steps"
    );

    // Arrays: an error, or (the infallible form) the cap; never an allocation by the number.
    let s: Schedule = "constant:peak=1,total=10".parse().unwrap();
    let max = MAX_STEPS as usize + 1;
    assert!(matches!(
        s.try_to_array_len(usize::MAX),
        Err(ScheduleError::TooManySteps(_))
    ));
    assert_eq!(s.try_to_array_len(20).unwrap().len(), 20);
    assert!(matches!(
        reconstruct(&[(0, 1.0)], max + 1, BeforeFirst::Hold),
        Err(ScheduleError::TooManySteps(_))
    ));
    assert!(
        reconstruct(&[(0, 1.0)], usize::MAX, BeforeFirst::Hold)
            .unwrap_err()
            .to_string()
            .contains("shared::schedule::MAX_STEPS")
    );
    assert_eq!(s.to_array_len(usize::MAX).len(), max);
}

#[test]
fn json_form() {
    let json = r#"{"kind":"wsd","peak":3e-4,"warmup":2160,"total":24000,"decay":0.2,"shape":"sqrt","final_lr":0.0}"#;
    let s = Schedule::from_json(json).unwrap();
    assert_eq!(
        s,
        "wsd:peak=3e-4,warmup=2160,total=24000,decay=0.2,shape=sqrt"
            .parse()
            .unwrap()
    );
    let back: Schedule = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
    let ls = Schedule::from_json(
        r#"{"kind":"cosine","peak":1e-3,"total":10,"warmup":3,"ramp":"linspace"}"#,
    )
    .unwrap();
    assert_eq!(ls.ramp(), WarmupRamp::Linspace);
    assert!(
        !serde_json::to_string(&s).unwrap().contains("ramp"),
        "default ramp is not written"
    );
    assert!(matches!(
        Schedule::from_json(r#"{"kind":"constant","peak":1,"total":3,"bogus":1}"#),
        Err(ScheduleError::Json(_))
    ));
    assert!(matches!(
        Schedule::from_json(r#"{"kind":"nope","peak":1}"#),
        Err(ScheduleError::Json(_))
    ));
    assert!(matches!(
        Schedule::from_json(r#"{"kind":"constant","peak":-1,"total":3}"#),
        Err(ScheduleError::Invalid { field: "peak", .. })
    ));
    // Property: serde round trip of random schedules. serde_json (without its
    // `float_roundtrip` feature) may change a float's last bit, hence the 1e-15 tolerance.
    let mut rng = Rng::new(3);
    for i in 0..200 {
        let s = random_schedule(&mut rng, i);
        let back = Schedule::from_json(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(
            (back.kind(), back.warmup(), back.total(), back.ramp()),
            (s.kind(), s.warmup(), s.total(), s.ramp())
        );
        for (a, b) in back.to_array().iter().zip(s.to_array()) {
            assert!((a - b).abs() <= 1e-15 * b.abs(), "{s}: {a} vs {b}");
        }
    }
}

#[test]
fn garbage_text_is_an_error_not_a_panic() {
    // Property: random strings over the text form's alphabet never panic.
    let alphabet: Vec<char> = "wsdcoinelartmp_:=,./-0123456789e ".chars().collect();
    let mut rng = Rng::new(4);
    for _ in 0..20_000 {
        let len = rng.int(0, 40) as usize;
        let text: String = (0..len)
            .map(|_| alphabet[rng.int(0, alphabet.len() as u64 - 1) as usize])
            .collect();
        if let Ok(s) = text.parse::<Schedule>() {
            assert_eq!(s.to_string().parse::<Schedule>().unwrap(), s);
        }
    }
    for text in [
        "wsd:",
        "cosine:peak=",
        ":",
        "constant:peak=1,total=18446744073709551616",
        "array:lrs=",
    ] {
        assert!(text.parse::<Schedule>().is_err(), "{text}");
    }
}
