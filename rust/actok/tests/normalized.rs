//! A tokenizer carrying a normalizer: raw actions in, raw actions out, saved beside the HF files.

use actok::{FastTokenizer, Normalizer, NormalizerKind, OnDecodeError, Overflow, NORMALIZER_FILE};
use std::path::PathBuf;

fn bundled() -> FastTokenizer {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../python/actok/data/robosuite_fast");
    FastTokenizer::from_pretrained(dir).unwrap()
}

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
    // A corrupt normalizer file is a load error naming the file.
    std::fs::write(dir.join(NORMALIZER_FILE), "{").unwrap();
    let err = FastTokenizer::from_pretrained(&dir)
        .unwrap_err()
        .to_string();
    assert!(err.contains(NORMALIZER_FILE), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
