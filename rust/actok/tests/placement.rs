//! `FitOptions::placement` and `FitOptions::target_rmse` in the core: what is chosen, what is
//! recorded (`FastTokenizer::fit_report`), what is refused. The reference processor's view of
//! every placement is checked from Python (`tests/test_placement.py`).

use actok::{FastTokenizer, FitAlphabet, FitOptions, Overflow, Placement};

/// `(n, h, d)` smooth chunks in `[-1, 1]`: random walks from a random offset (xorshift, seeded).
fn walks(seed: u64, n: usize, h: usize, d: usize) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut unit = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut out = Vec::with_capacity(n * h * d);
    for _ in 0..n {
        let mut x: Vec<f64> = (0..d).map(|_| unit() * 1.2 - 0.6).collect();
        for _ in 0..h {
            for v in x.iter_mut() {
                *v = (*v + (unit() - 0.5) * 0.1).clamp(-1.0, 1.0);
            }
            out.extend(&*x);
        }
    }
    out
}

fn fit(data: &[f64], shape: [usize; 3], options: FitOptions) -> actok::Result<FastTokenizer> {
    FastTokenizer::fit(data, shape, &options, None)
}

fn tokens(tok: &FastTokenizer, data: &[f64], shape: [usize; 3]) -> f64 {
    let ids = tok.encode(data, shape, Overflow::Raise).unwrap();
    ids.iter().map(Vec::len).sum::<usize>() as f64 / ids.len() as f64
}

#[test]
fn auto_keeps_a_placement_no_worse_than_the_reference_on_the_last_fifth() {
    let shape = [300, 10, 2];
    let data = walks(1, 300, 10, 2);
    let tok = fit(&data, shape, FitOptions::default()).unwrap();
    let report = tok.fit_report().expect("a lossless fit records its choice");
    let p = &report.placement;
    assert_eq!(p.requested, "auto");
    assert_eq!((p.training_chunks, p.validation_chunks), (240, 60));
    assert_eq!(p.min_token, tok.config().min_token);
    assert_eq!(p.candidates[0].label, "reference");
    let kept = p
        .candidates
        .iter()
        .find(|c| c.min_token == p.min_token)
        .unwrap();
    assert!(kept.tokens_per_chunk <= p.candidates[0].tokens_per_chunk);
    assert!(report.scale.is_none());
    // Every chunk encodes (the alphabet covers the whole corpus whatever the placement), in
    // fewer tokens than one per value.
    assert!(tokens(&tok, &data, shape) < 20.0);
}

#[test]
fn a_fixed_placement_is_written_and_checked() {
    let shape = [50, 8, 2];
    let data = walks(2, 50, 8, 2);
    let options = |placement| FitOptions {
        placement,
        ..FitOptions::default()
    };
    let tok = fit(&data, shape, options(Placement::MinToken(-20_000))).unwrap();
    assert_eq!(tok.config().min_token, -20_000);
    assert_eq!(tok.fit_report().unwrap().placement.requested, "min_token");
    // Zero is U+4E20, a CJK letter: three bytes, and the data round-trips through it.
    let decoded = tok
        .decode(
            &tok.encode(&data, shape, Overflow::Raise).unwrap(),
            8,
            2,
            Default::default(),
        )
        .unwrap();
    let worst = decoded
        .actions
        .iter()
        .zip(&data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 0.5 * (8f64).sqrt() / 10.0 + 1e-9, "{worst}");
    for bad in [0, 1_000, -60_000] {
        let err = fit(&data, shape, options(Placement::MinToken(bad))).unwrap_err();
        assert!(
            err.to_string().contains(&format!("min_token={bad} puts")),
            "{err}"
        );
    }
    let reference = FitOptions {
        alphabet: FitAlphabet::Reference,
        placement: Placement::MinToken(-300),
        ..FitOptions::default()
    };
    let err = fit(&data, shape, reference).unwrap_err().to_string();
    assert!(err.contains("needs alphabet=\"lossless\""), "{err}");
    let reference = FitOptions {
        alphabet: FitAlphabet::Reference,
        ..FitOptions::default()
    };
    assert!(fit(&data, shape, reference).unwrap().fit_report().is_none());
}

#[test]
fn target_rmse_picks_a_scale_within_the_target() {
    let shape = [200, 12, 3];
    let data = walks(3, 200, 12, 3);
    let options = FitOptions {
        target_rmse: Some(0.01),
        vocab_size: 512,
        ..FitOptions::default()
    };
    let tok = fit(&data, shape, options).unwrap();
    let scale = tok
        .fit_report()
        .unwrap()
        .scale
        .expect("the sweep is recorded");
    assert_eq!(scale.scale, tok.config().scale);
    assert!(scale.rmse <= 0.01);
    let fitted: Vec<_> = scale
        .sweep
        .iter()
        .filter(|r| r.tokens_per_chunk.is_some())
        .collect();
    assert!(!fitted.is_empty() && fitted.len() <= 3);
    let fewest = fitted
        .iter()
        .map(|r| r.tokens_per_chunk.unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(fewest, scale.tokens_per_chunk);
    // Every smaller scale of the grid misses the target.
    assert!(scale
        .sweep
        .iter()
        .filter(|r| r.scale < fitted[0].scale)
        .all(|r| r.rmse > 0.01));
    for bad in [0.0, -1.0, f64::NAN] {
        let options = FitOptions {
            target_rmse: Some(bad),
            ..FitOptions::default()
        };
        let err = fit(&data, shape, options).unwrap_err().to_string();
        assert!(
            err.contains("target_rmse must be a finite number > 0"),
            "{err}"
        );
    }
}
