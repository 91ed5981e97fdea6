//! A tokenizer carrying a normalizer: raw actions in, raw actions out, saved beside the HF files.

mod common;

use actok::{
    Error, FastTokenizer, Normalizer, NormalizerKind, OnDecodeError, OutOfRange, Overflow, Place,
    RangeIssue, NORMALIZER_FILE,
};
use common::bundled;

/// Raw actions in physical units, far outside [-1, 1]: (20 steps, 2 dims).
fn raw() -> Vec<f64> {
    (0..40)
        .map(|i| {
            if i % 2 == 0 {
                100.0 + (i as f64 * 0.3).sin() * 50.0
            } else {
                -3.0 + i as f64 * 0.01
            }
        })
        .collect()
}

#[test]
fn encode_normalizes_and_decode_inverts() {
    let data = raw();
    let norm = Normalizer::fit(NormalizerKind::MinMax, &[&data[..]], 2).unwrap();
    let tok = bundled().with_normalizer(Some(norm.clone()));
    let ids = tok.encode(&data, [1, 20, 2], Overflow::Raise).unwrap();
    // Same ids as normalizing by hand and encoding with the plain tokenizer.
    let plain = bundled();
    let by_hand = plain
        .encode(&norm.apply(&data).unwrap(), [1, 20, 2], Overflow::Raise)
        .unwrap();
    assert_eq!(ids, by_hand);
    let decoded = tok
        .decode(
            &[ids[0].iter().map(|&i| i64::from(i)).collect::<Vec<_>>()],
            20,
            2,
            OnDecodeError::Raise,
        )
        .unwrap();
    let plain_decoded = plain
        .decode(
            &[ids[0].iter().map(|&i| i64::from(i)).collect::<Vec<_>>()],
            20,
            2,
            OnDecodeError::Raise,
        )
        .unwrap();
    assert_eq!(
        decoded.actions,
        norm.inverse(&plain_decoded.actions).unwrap()
    );
    // Quantization error is at most ~1/scale in normalized units, so raw error ≤ half-range/scale.
    for (a, b) in decoded.actions.iter().zip(&data) {
        assert!((a - b).abs() < 50.0, "{a} vs {b}");
    }
    // Dimension mismatch is an error, not garbage.
    assert!(tok.encode(&data, [1, 10, 4], Overflow::Raise).is_err());
    assert!(tok
        .decode(&[vec![1i64]], 10, 4, OnDecodeError::Zeros)
        .is_err());
}

#[test]
fn save_and_load_carry_the_normalizer() {
    let dir = std::env::temp_dir().join(format!("actok-normalized-{}", std::process::id()));
    let data = raw();
    let norm = Normalizer::fit(NormalizerKind::Quantile, &[&data[..]], 2).unwrap();
    let tok = bundled().with_normalizer(Some(norm.clone()));
    tok.save_pretrained(&dir).unwrap();
    assert!(dir.join(NORMALIZER_FILE).exists());
    let loaded = FastTokenizer::from_pretrained(&dir).unwrap();
    assert_eq!(loaded.normalizer(), Some(&norm));
    assert_eq!(loaded.tokenizer_json(), tok.tokenizer_json());
    // Saving without a normalizer removes the stale file.
    bundled().save_pretrained(&dir).unwrap();
    assert!(!dir.join(NORMALIZER_FILE).exists());
    assert!(FastTokenizer::from_pretrained(&dir)
        .unwrap()
        .normalizer()
        .is_none());
    // A directory saved with a normalizer and copied without its file is refused, naming it.
    tok.save_pretrained(&dir).unwrap();
    std::fs::remove_file(dir.join(NORMALIZER_FILE)).unwrap();
    match FastTokenizer::from_pretrained(&dir) {
        Err(err @ Error::Io { .. }) => {
            let msg = err.to_string();
            assert!(msg.contains(NORMALIZER_FILE) && msg.contains("saved with a normalizer"));
        }
        other => panic!("expected a load error, got {other:?}"),
    }
    // The same rule from texts: the config records the normalizer, so its text is needed.
    tok.save_pretrained(&dir).unwrap();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let (tj, cj, nj) = (
        read("tokenizer.json"),
        read("processor_config.json"),
        read(NORMALIZER_FILE),
    );
    assert!(cj.contains("\"actok_normalizer\""), "{cj}");
    match FastTokenizer::from_json(&tj, &cj) {
        Err(err @ Error::Format { .. }) => {
            assert!(
                err.to_string().contains("no actok_normalizer.json text"),
                "{err}"
            )
        }
        other => panic!("expected a format error, got {other:?}"),
    }
    let again = FastTokenizer::from_json_with_normalizer(&tj, &cj, Some(&nj)).unwrap();
    assert_eq!(again.normalizer(), Some(&norm));
    // Removing the normalizer removes the record, so the texts load again without one.
    let plain = again.with_normalizer(None);
    assert!(!plain.config().extra.contains_key("actok_normalizer"));
    assert!(FastTokenizer::from_json(&tj, &plain.config().to_json()).is_ok());
    // A corrupt normalizer file is a load error naming the file.
    std::fs::write(dir.join(NORMALIZER_FILE), "{").unwrap();
    let err = FastTokenizer::from_pretrained(&dir)
        .unwrap_err()
        .to_string();
    assert!(err.contains(NORMALIZER_FILE), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Degrees fed to a tokenizer whose normalizer was fitted on radians: refused under every
/// policy, naming chunk, step, dimension, the value and the fitted data's range.
#[test]
fn far_outside_values_are_refused_where_they_sit() {
    let data = raw();
    for policy in [OutOfRange::Keep, OutOfRange::Clip, OutOfRange::Raise] {
        let norm = Normalizer::fit(NormalizerKind::Quantile, &[&data[..]], 2)
            .unwrap()
            .with_out_of_range(policy)
            .unwrap();
        let tok = bundled().with_normalizer(Some(norm));
        let mut batch = [data.clone(), data.clone()].concat();
        batch[40 + 7 * 2 + 1] = (-3.0f64 + 0.07).to_degrees();
        match tok.encode(&batch, [2, 20, 2], Overflow::Raise) {
            Err(
                err @ Error::OutOfRange {
                    place:
                        Place::Chunk {
                            chunk: 1,
                            step: 7,
                            dimension: 1,
                        },
                    issue: RangeIssue::Far { .. },
                    ..
                },
            ) => {
                let msg = err.to_string();
                assert!(msg.starts_with("cannot encode: value -167.8"), "{msg}");
                assert!(
                    msg.contains("[-2.99, -2.61]") && msg.contains("[-3.37, -2.23]"),
                    "{msg}"
                );
                assert!(msg.contains("other units"), "{msg}");
            }
            other => panic!("{policy:?}: expected a far-outside refusal, got {other:?}"),
        }
    }
}

/// Under clip the values beyond the fitted range are saturated and counted per dimension;
/// under keep the same data encodes unclipped and decodes back within the quantization bound.
#[test]
fn clip_counts_and_keep_round_trips() {
    let data = raw();
    let norm = Normalizer::fit(NormalizerKind::Quantile, &[&data[..]], 2).unwrap();
    let outside = norm.count_outside(&data).unwrap();
    assert!(outside.iter().sum::<u64>() > 0);
    let clip = norm.clone().with_out_of_range(OutOfRange::Clip).unwrap();
    let tok = bundled().with_normalizer(Some(clip));
    let encoded = tok
        .encode_counted(&data, [1, 20, 2], Overflow::Raise)
        .unwrap();
    assert_eq!(encoded.clipped, outside);
    let padded = tok
        .encode_padded(&data, [1, 20, 2], Overflow::Raise, None, 0)
        .unwrap();
    assert_eq!(padded.clipped, outside);

    let keep = bundled().with_normalizer(Some(norm.clone()));
    let encoded = keep
        .encode_counted(&data, [1, 20, 2], Overflow::Raise)
        .unwrap();
    assert!(encoded.clipped.is_empty());
    let decoded = keep
        .decode(&encoded.ids, 20, 2, OnDecodeError::Raise)
        .unwrap();
    let (low, high) = norm.range().unwrap();
    for (at, (a, b)) in decoded.actions.iter().zip(&data).enumerate() {
        let half = (high[at % 2] - low[at % 2]) / 2.0;
        let bound = 0.5 / 10.0 * 20f64.sqrt() * half + 1e-9;
        assert!((a - b).abs() <= bound, "{at}: {a} vs {b} (bound {bound})");
    }
}
