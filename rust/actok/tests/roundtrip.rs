//! Property tests of the round trips, on a tokenizer built here (no Python needed).

use actok::dct::{transform_axis, DctSpec};
use actok::{FastTokenizer, OnDecodeError, Overflow};
use proptest::prelude::*;

/// The byte-level symbol of each byte (GPT-2 map), to build a vocabulary by hand.
fn byte_symbol(b: u8) -> char {
    let identity = matches!(b, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF);
    if identity {
        b as char
    } else {
        let shifted = (0..b)
            .filter(|&x| !matches!(x, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF))
            .count() as u32;
        char::from_u32(0x100 + shifted).unwrap()
    }
}

/// A FAST tokenizer whose vocab has every byte-level symbol plus merges of common 2-byte
/// characters around `min_token = -354` (zero maps to U+0162, UTF-8 C5 A2).
fn tokenizer(scale: f64) -> FastTokenizer {
    let mut vocab: Vec<String> = Vec::new();
    let mut symbols: Vec<char> = (0..=255u8).map(byte_symbol).collect();
    symbols.sort();
    vocab.extend(symbols.iter().map(|c| c.to_string()));
    let mut merges = Vec::new();
    // Merge the UTF-8 bytes of U+0140..U+01BF into single tokens, then pairs of U+0162.
    for cp in 0x140u32..0x1C0 {
        let c = char::from_u32(cp).unwrap();
        let mut buf = [0u8; 4];
        let bytes = c.encode_utf8(&mut buf).as_bytes().to_vec();
        let (a, b) = (
            byte_symbol(bytes[0]).to_string(),
            byte_symbol(bytes[1]).to_string(),
        );
        merges.push((a.clone(), b.clone()));
        vocab.push(format!("{a}{b}"));
    }
    let zero: String = "\u{162}".bytes().map(byte_symbol).collect();
    merges.push((zero.clone(), zero.clone()));
    vocab.push(format!("{zero}{zero}"));
    let vocab_json: Vec<String> = vocab
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{}: {i}", serde_json::to_string(t).unwrap()))
        .collect();
    let merges_json: Vec<String> = merges
        .iter()
        .map(|(a, b)| serde_json::to_string(&[a, b]).unwrap())
        .collect();
    let tokenizer_json = format!(
        r#"{{"version": "1.0", "added_tokens": [], "normalizer": null,
        "pre_tokenizer": {{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}},
        "post_processor": null, "decoder": {{"type": "ByteLevel"}},
        "model": {{"type": "BPE", "dropout": null, "unk_token": null, "vocab": {{{}}}, "merges": [{}]}}}}"#,
        vocab_json.join(", "),
        merges_json.join(", ")
    );
    let config = format!(
        r#"{{"scale": {scale}, "vocab_size": {}, "min_token": -354}}"#,
        vocab.len()
    );
    FastTokenizer::from_json(&tokenizer_json, &config).unwrap()
}

/// Ids as `i64`, for sequences that also hold values no id has (`-1`): `decode` takes the `u32`
/// ids `encode` returns as they are.
fn widen(ids: &[Vec<u32>]) -> Vec<Vec<i64>> {
    ids.iter()
        .map(|s| s.iter().map(|&i| i64::from(i)).collect())
        .collect()
}

fn chunk_strategy() -> impl Strategy<Value = (usize, usize, Vec<f64>)> {
    (1usize..40, 1usize..10).prop_flat_map(|(h, d)| {
        (
            Just(h),
            Just(d),
            proptest::collection::vec(-1.0f64..1.0, h * d),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn decode_of_encode_is_within_the_quantization_bound(
        (h, d, x) in chunk_strategy(),
        scale in prop_oneof![Just(5.0), Just(10.0), Just(37.5), Just(50.0)],
    ) {
        let tok = tokenizer(scale);
        let ids = tok.encode(&x, [1, h, d], Overflow::Raise).unwrap();
        let back = tok.decode(&ids, h, d, OnDecodeError::Raise).unwrap();
        prop_assert!(back.valid[0]);
        // Orthonormal DCT: each coefficient is off by at most 0.5/scale, so the L2 error is too.
        let err: f64 = x.iter().zip(&back.actions).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
        prop_assert!(err <= 0.5 / scale * ((h * d) as f64).sqrt() + 1e-9, "err {err}");
    }

    #[test]
    fn encode_of_decode_is_identity_on_canonical_encodings(
        (h, d, x) in chunk_strategy(),
        scale in prop_oneof![Just(5.0), Just(10.0), Just(50.0)],
    ) {
        let tok = tokenizer(scale);
        let ids = tok.encode(&x, [1, h, d], Overflow::Raise).unwrap();
        let back = tok.decode(&ids, h, d, OnDecodeError::Raise).unwrap();
        let again = tok.encode(&back.actions, [1, h, d], Overflow::Raise).unwrap();
        prop_assert_eq!(again, ids);
    }

    #[test]
    fn dct_then_inverse_is_identity(x in proptest::collection::vec(-1e3f64..1e3, 1..200)) {
        let n = x.len();
        let mut c = vec![0.0; n];
        let mut back = vec![0.0; n];
        transform_axis(DctSpec::FAST_FORWARD, &x, &mut c, [1, n, 1]).unwrap();
        transform_axis(DctSpec::FAST_INVERSE, &c, &mut back, [1, n, 1]).unwrap();
        for (a, b) in x.iter().zip(&back) {
            prop_assert!((a - b).abs() <= 1e-9);
        }
    }

    #[test]
    fn saved_tokenizer_json_reloads_identically(scale in 1.0f64..100.0) {
        let tok = tokenizer(scale);
        let text = tok.tokenizer_json();
        let again = FastTokenizer::from_json(&text, &tok.config().to_json()).unwrap();
        prop_assert_eq!(again.bpe().tokens(), tok.bpe().tokens());
        prop_assert_eq!(again.bpe().merges(), tok.bpe().merges());
        prop_assert_eq!(again.config(), tok.config());
    }

    #[test]
    fn clip_always_encodes_and_stays_representable(
        (h, d, x) in chunk_strategy(),
        gain in prop_oneof![Just(1.0), Just(1e3), Just(1e6)],
    ) {
        let tok = tokenizer(10.0);
        let x: Vec<f64> = x.iter().map(|v| v * gain).collect();
        let ids = tok.encode(&x, [1, h, d], Overflow::Clip).unwrap();
        let back = tok.decode(&ids, h, d, OnDecodeError::Raise).unwrap();
        prop_assert!(back.valid[0]);
    }
}

#[test]
fn errors_name_chunk_and_index() {
    let tok = tokenizer(10.0);
    let mut x = vec![0.0f64; 3 * 4 * 2];
    x[2 * 8 + 5] = f64::NAN;
    let err = tok
        .encode(&x, [3, 4, 2], Overflow::Raise)
        .unwrap_err()
        .to_string();
    assert!(err.contains("chunk 2") && err.contains("index 5"), "{err}");
    let mut x = vec![0.0f64; 2 * 4 * 2];
    x[8] = -1e3; // chunk 1: its DC coefficient is far below min_token
    let err = tok
        .encode(&x, [2, 4, 2], Overflow::Raise)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("chunk 1") && err.contains("below min_token"),
        "{err}"
    );
    let err = tok
        .decode(&[vec![0i64], vec![1_000_000]], 1, 1, OnDecodeError::Raise)
        .unwrap_err()
        .to_string();
    assert!(err.contains("chunk 1") && err.contains("1000000"), "{err}");
}

#[test]
fn decode_policies() {
    let tok = tokenizer(10.0);
    let x: Vec<f64> = (0..20).map(|i| (i as f64 * 0.3).sin()).collect();
    let ids = widen(&tok.encode(&x, [1, 10, 2], Overflow::Raise).unwrap());
    let mut short = ids[0].clone();
    short.pop();
    let seqs = vec![ids[0].clone(), short, vec![-1]];
    assert!(tok.decode(&seqs, 10, 2, OnDecodeError::Raise).is_err());
    let zeros = tok.decode(&seqs, 10, 2, OnDecodeError::Zeros).unwrap();
    assert_eq!(zeros.valid, vec![true, false, false]);
    assert!(zeros.actions[20..].iter().all(|&v| v == 0.0));
    let padded = tok.decode(&seqs, 10, 2, OnDecodeError::Pad).unwrap();
    assert_eq!(padded.valid, vec![true, false, false]);
    assert!(padded.actions[20..40].iter().any(|&v| v != 0.0));
    assert!(padded.actions[40..].iter().all(|&v| v == 0.0));
}
