//! Rebuilding per-step LRs from sparse logs, and fitting schedule families to logs.

mod common;

use shared::schedule::{
    BeforeFirst, DecayShape, FitOptions, Schedule, ScheduleError, ScheduleFamily, WarmupRamp,
    fit_schedule, reconstruct,
};

fn logged(s: &Schedule, every: u64, from: u64) -> Vec<(u64, f64)> {
    (from..s.total())
        .step_by(every as usize)
        .map(|t| (t, s.eta(t)))
        .collect()
}

#[test]
fn reconstruct_interpolates_and_fills_ends() {
    let pts = [(10, 2.0), (20, 4.0), (40, 0.0)];
    let ramp = reconstruct(&pts, 50, BeforeFirst::RampFromZero).unwrap();
    assert_eq!(ramp[0], 0.0);
    assert_eq!(ramp[5], 1.0);
    assert_eq!(ramp[15], 3.0);
    assert_eq!(ramp[30], 2.0);
    assert_eq!(ramp[45], 0.0, "holds the last logged value");
    let hold = reconstruct(&pts, 50, BeforeFirst::Hold).unwrap();
    assert_eq!(hold[3], 2.0);
    // Unsorted input and duplicates (the later entry wins).
    let messy = [(40, 0.0), (20, 5.0), (10, 2.0), (20, 4.0)];
    assert_eq!(
        reconstruct(&messy, 50, BeforeFirst::RampFromZero).unwrap(),
        ramp
    );
    assert_eq!(
        reconstruct(&[], 5, BeforeFirst::Hold),
        Err(ScheduleError::NoPoints)
    );
    assert!(matches!(
        reconstruct(&[(1, f64::NAN)], 5, BeforeFirst::Hold),
        Err(ScheduleError::BadPoint { index: 0, .. })
    ));
}

#[test]
fn reconstruct_recovers_schedules_from_sparse_logs() {
    // Linear pieces are exact; a cosine logged every 50 steps is within 1e-4 of the peak
    // (interpolation error h^2/8 max|eta''| = 1.4e-5 of the peak here).
    let lin = Schedule::Linear {
        peak: 1e-3,
        final_lr: 1e-4,
        warmup: 100,
        ramp: WarmupRamp::Zero,
        total: 10_000,
    };
    let rebuilt = reconstruct(&logged(&lin, 50, 0), 10_000, BeforeFirst::RampFromZero).unwrap();
    for (t, v) in rebuilt.iter().enumerate().take(9_951) {
        assert!((v - lin.eta(t as u64)).abs() <= 1e-15, "linear at {t}");
    }
    let cos = Schedule::Cosine {
        peak: 1e-3,
        final_lr: 1e-4,
        warmup: 100,
        ramp: WarmupRamp::Zero,
        total: 10_000,
    };
    let rebuilt = reconstruct(&logged(&cos, 50, 0), 10_000, BeforeFirst::RampFromZero).unwrap();
    for (t, v) in rebuilt.iter().enumerate().take(9_951) {
        assert!(
            (v - cos.eta(t as u64)).abs() <= 1e-4 * 1e-3,
            "cosine at {t}"
        );
    }
}

fn check_fit(truth: &Schedule, family: ScheduleFamily, opts: FitOptions, every: u64, from: u64) {
    let pts = logged(truth, every, from);
    let fit = fit_schedule(&pts, family, &opts).unwrap();
    // The fitted schedule reproduces every logged point to 1e-6 of the peak.
    assert!(
        fit.max_abs_error <= 1e-6 * truth.peak(),
        "{truth} -> {} ({:e})",
        fit.schedule,
        fit.max_abs_error
    );
    assert_eq!(fit.schedule.kind(), truth.kind());
    assert!(
        (fit.schedule.peak() - truth.peak()).abs() <= 1e-6 * truth.peak(),
        "{}",
        fit.schedule
    );
}

#[test]
fn fit_recovers_synthetic_schedules() {
    let z = WarmupRamp::Zero;
    let none = FitOptions::default();
    check_fit(
        &Schedule::Constant {
            peak: 3e-4,
            warmup: 300,
            ramp: z,
            total: 5000,
        },
        ScheduleFamily::Constant,
        none,
        10,
        0,
    );
    check_fit(
        &Schedule::Cosine {
            peak: 3e-4,
            final_lr: 3e-5,
            warmup: 300,
            ramp: z,
            total: 5000,
        },
        ScheduleFamily::Cosine,
        none,
        10,
        0,
    );
    check_fit(
        &Schedule::Linear {
            peak: 1e-3,
            final_lr: 0.0,
            warmup: 0,
            ramp: z,
            total: 4000,
        },
        ScheduleFamily::Linear,
        none,
        7,
        0,
    );
    check_fit(
        &Schedule::InverseSqrt {
            peak: 1e-3,
            warmup: 500,
            ramp: z,
            total: 8000,
        },
        ScheduleFamily::InverseSqrt,
        none,
        10,
        0,
    );
    check_fit(
        &Schedule::TwoStage {
            peak: 3e-4,
            warmup: 200,
            ramp: z,
            total: 6000,
            switch: 3000,
            lr2: 5e-5,
        },
        ScheduleFamily::TwoStage,
        FitOptions {
            total: Some(6000),
            ..none
        },
        10,
        0,
    );
    for shape in DecayShape::ALL {
        let truth = Schedule::Wsd {
            peak: 3e-4,
            final_lr: 3e-5,
            warmup: 200,
            ramp: z,
            total: 6000,
            decay: None,
            decay_start: Some(4800),
            shape,
        };
        check_fit(&truth, ScheduleFamily::Wsd(shape), none, 10, 0);
    }
}

/// Fits the real logged LR columns of the multi-power-law runs (logged every 128 steps,
/// from the end of warmup on).
#[test]
fn fit_recovers_the_multipowerlaw_schedules() {
    let read = |name: &str| -> Vec<(u64, f64)> {
        let (_, rows) = common::read_csv(&format!("multipowerlaw/csv_100/{name}.csv"));
        rows.iter()
            .map(|r| (r[0].parse().unwrap(), r[1].parse().unwrap()))
            .collect()
    };
    let fit = fit_schedule(
        &read("cosine_24000"),
        ScheduleFamily::Cosine,
        &FitOptions::default(),
    )
    .unwrap();
    let Schedule::Cosine {
        peak,
        final_lr,
        warmup,
        total,
        ..
    } = fit.schedule
    else {
        panic!("{}", fit.schedule)
    };
    assert!(
        (peak - 3e-4).abs() < 1e-9 && (final_lr - 3e-5).abs() < 1e-9,
        "{}",
        fit.schedule
    );
    assert_eq!(
        (warmup, total),
        (2160, 24000),
        "warmup ends at the first logged peak"
    );
    assert!(fit.rmse < 1e-10);

    // A geometric decay identifies only its rate: with the horizon given, everything is recovered.
    let opts = FitOptions {
        total: Some(24000),
        ..FitOptions::default()
    };
    let fit = fit_schedule(
        &read("wsd_20000_24000"),
        ScheduleFamily::Wsd(DecayShape::Geometric),
        &opts,
    )
    .unwrap();
    let Schedule::Wsd { final_lr, .. } = fit.schedule else {
        panic!()
    };
    assert_eq!(fit.schedule.decay_start(), Some(20000), "{}", fit.schedule);
    assert!((final_lr - 3e-5).abs() < 1e-10, "{}", fit.schedule);
    assert!(
        fit.max_abs_error < 1e-9 * 3e-4,
        "{} {:e}",
        fit.schedule,
        fit.max_abs_error
    );
    // Without it, the fit still reproduces the logged LRs.
    let free = fit_schedule(
        &read("wsd_20000_24000"),
        ScheduleFamily::Wsd(DecayShape::Geometric),
        &FitOptions::default(),
    )
    .unwrap();
    assert!(
        free.max_abs_error < 1e-9 * 3e-4,
        "{} {:e}",
        free.schedule,
        free.max_abs_error
    );

    let fit = fit_schedule(
        &read("wsdld_20000_24000"),
        ScheduleFamily::Wsd(DecayShape::Linear),
        &opts,
    )
    .unwrap();
    let Schedule::Wsd { final_lr, .. } = fit.schedule else {
        panic!()
    };
    assert_eq!(fit.schedule.decay_start(), Some(20000), "{}", fit.schedule);
    assert!((final_lr - 3e-5).abs() < 1e-10, "{}", fit.schedule);

    let opts = FitOptions {
        total: Some(16000),
        ..FitOptions::default()
    };
    let fit = fit_schedule(&read("wsdcon_9"), ScheduleFamily::TwoStage, &opts).unwrap();
    let Schedule::TwoStage { switch, lr2, .. } = fit.schedule else {
        panic!()
    };
    assert!(
        switch > 7936 && switch <= 8000 && (lr2 - 9e-5).abs() < 1e-12,
        "{}",
        fit.schedule
    );
}

#[test]
fn absurd_logs_do_not_panic() {
    let pts = [(0, 1e-3), (u64::MAX - 1, 1e-4), (u64::MAX / 2, 5e-4)];
    for family in ScheduleFamily::ALL {
        let fit = fit_schedule(&pts, family, &FitOptions::default());
        assert!(fit.is_ok(), "{family:?}");
    }
    let opts = FitOptions {
        warmup: Some(u64::MAX),
        total: Some(3),
        ramp: WarmupRamp::Linspace,
    };
    for family in ScheduleFamily::ALL {
        assert!(
            fit_schedule(&[(1, 1e-3), (2, 1e-3)], family, &opts).is_ok(),
            "{family:?}"
        );
    }
    assert!(reconstruct(&[(u64::MAX, 1.0)], 10, BeforeFirst::RampFromZero).is_ok());
}

/// A real, long log: LLM360's Mamba-3B run (44k logged steps up to 176k; a warmup then a
/// cosine decay). The cosine fit reproduces the logged LR within 0.1% of the peak.
#[test]
fn fit_a_long_real_log() {
    let (_, rows) = common::read_csv("llm360/llm360Mamba3B.csv");
    let pts: Vec<(u64, f64)> = rows
        .iter()
        .map(|r| (r[0].parse().unwrap(), r[2].parse().unwrap()))
        .collect();
    let t0 = std::time::Instant::now();
    let fit = fit_schedule(&pts, ScheduleFamily::Cosine, &FitOptions::default()).unwrap();
    println!(
        "{} rmse {:e} max {:e} in {:?}",
        fit.schedule,
        fit.rmse,
        fit.max_abs_error,
        t0.elapsed()
    );
    assert!(
        fit.max_abs_error < 1e-3 * fit.schedule.peak(),
        "{} {:e}",
        fit.schedule,
        fit.max_abs_error
    );
    let rebuilt = reconstruct(
        &pts,
        fit.schedule.total() as usize,
        BeforeFirst::RampFromZero,
    )
    .unwrap();
    assert_eq!(rebuilt.len() as u64, fit.schedule.total());
}
