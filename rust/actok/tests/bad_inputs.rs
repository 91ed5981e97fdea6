//! Bad inputs to the core, one case each: every one is an [`Error`] naming what and where, never
//! a panic (these tests run with overflow checks on, so an arithmetic overflow would panic too),
//! or, where the input is usable, the right answer. The Python matrix is `tests/test_bad_inputs.py`.

use actok::{
    DecodeIssue, EncodeIssue, EncodeOptions, Error, FastTokenizer, FitOptions, Normalizer,
    NormalizerKind, OnDecodeError, Overflow, Representable,
};

const TOKENIZER: &str = include_str!("../../../python/actok/data/robosuite_fast/tokenizer.json");
const CONFIG: &str =
    include_str!("../../../python/actok/data/robosuite_fast/processor_config.json");

/// The bundled tokenizer as a universal one (no recorded `time_horizon`): the cases below feed
/// small chunks of many shapes, and are about other faults than the shape check, which
/// `shape_check_names_both_shapes_unless_turned_off` covers with the recorded horizon.
fn tok() -> FastTokenizer {
    FastTokenizer::from_json(TOKENIZER, &config_with("time_horizon", "null")).unwrap()
}

fn config_with(key: &str, value: &str) -> String {
    let mut cfg: serde_json::Map<String, serde_json::Value> = serde_json::from_str(CONFIG).unwrap();
    cfg.insert(key.into(), serde_json::from_str(value).unwrap());
    serde_json::to_string(&cfg).unwrap()
}

/// The message of a `Format` error about `file`.
fn format_error(result: actok::Result<FastTokenizer>, file: &str) -> String {
    match result {
        Err(e @ Error::Format { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(file), "{msg}");
            msg
        }
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn non_finite_input_names_chunk_and_index() {
    let mut x = vec![0.0f64; 3 * 4 * 2];
    x[2 * 8 + 5] = f64::NAN;
    match tok().encode(&x, [3, 4, 2], Overflow::Clip) {
        Err(Error::Encode {
            chunk: 2,
            index: 5,
            reason: EncodeIssue::NotFinite { value },
        }) => assert!(value.is_nan()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn finite_input_whose_coefficient_overflows() {
    let x = vec![f64::MAX; 4 * 2];
    match tok().encode(&x, [1, 4, 2], Overflow::Raise) {
        Err(
            e @ Error::Encode {
                chunk: 0,
                index: 0,
                reason: EncodeIssue::CoefficientNotFinite { .. },
            },
        ) => assert!(e.to_string().contains("too large"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn huge_coefficient_prints_in_scientific_notation() {
    let mut x = vec![0.0f64; 4 * 2];
    x[1] = 1e300;
    let e = tok().encode(&x, [1, 4, 2], Overflow::Raise).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(
        e,
        Error::Encode {
            index: 1,
            reason: EncodeIssue::NotACharacter { .. },
            ..
        }
    ));
    // Not 301 digits: no run of 30 digits anywhere, and the whole message stays short (the
    // cap was 300 before the message named the likely cause and the representable range).
    let longest_digits = msg
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(
        msg.contains("e300") && longest_digits < 30 && msg.len() < 400,
        "{msg}"
    );
}

/// The `representable` range carried by an out-of-range encode error.
fn representable(issue: &EncodeIssue) -> Option<Representable> {
    match issue {
        EncodeIssue::BelowMinToken { representable, .. }
        | EncodeIssue::NotACharacter { representable, .. }
        | EncodeIssue::NotInVocab { representable, .. } => *representable,
        other => panic!("not an out-of-range issue: {other:?}"),
    }
}

/// Encodes the single quantized coefficient `q` (a `(1, 1, 1)` chunk: the length-1 orthonormal
/// DCT is the identity, so `q / scale` quantizes to `q`).
fn encode_q(t: &FastTokenizer, q: i64) -> actok::Result<Vec<Vec<u32>>> {
    // A (1, 1) chunk is its own coefficient: the probe, not a shape the tokenizer was fitted to.
    let any_shape = EncodeOptions {
        overflow: Overflow::Raise,
        check_shape: false,
    };
    t.encode(&[q as f64 / t.config().scale], [1, 1, 1], any_shape)
}

/// A lossless tokenizer fitted on smooth normalized chunks (20 steps, 2 dimensions, in [-1, 1]).
fn lossless() -> FastTokenizer {
    let (n, h, d) = (64, 20, 2);
    let chunks: Vec<f64> = (0..n * h * d)
        .map(|i| {
            let (c, t, k) = (i / (h * d), (i / d) % h, i % d);
            (0.3 * c as f64 + 0.2 * t as f64 + k as f64).sin()
        })
        .collect();
    let options = FitOptions {
        vocab_size: 300,
        ..FitOptions::default()
    };
    FastTokenizer::fit(&chunks, [n, h, d], &options, None).unwrap()
}

#[test]
fn unnormalized_actions_are_named_as_the_likely_cause() {
    // Raw actions (degrees, say) given to a tokenizer fitted on normalized ones: the message
    // leads with that cause and the fix; clipping is offered last, as a loss of data.
    let t = lossless();
    let raw: Vec<f64> = (0..20 * 2).map(|i| 90.0 + i as f64).collect();
    let e = t.encode(&raw, [1, 20, 2], Overflow::Raise).unwrap_err();
    let Error::Encode {
        chunk: 0, reason, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    let Representable { lo, hi } = representable(reason).expect("a range");
    assert_eq!(lo, t.config().min_token);
    let msg = e.to_string();
    for needle in [
        "likely not normalized",
        "other units",
        "scale",
        &format!("outside {lo} to {hi}"),
        "Normalizer",
        "refit",
        "saturates, losing data",
    ] {
        assert!(msg.contains(needle), "{needle:?} missing: {msg}");
    }
    assert!(
        msg.find("not normalized") < msg.find("on_overflow"),
        "{msg}"
    );
    // The range named is exact: its ends encode, one past either end does not.
    for q in [lo, 0, hi] {
        encode_q(&t, q).unwrap_or_else(|e| panic!("{q}: {e}"));
    }
    for q in [lo - 1, hi + 1] {
        match encode_q(&t, q) {
            Err(Error::Encode { reason, .. }) => {
                assert_eq!(representable(&reason), Some(Representable { lo, hi }))
            }
            other => panic!("{q}: {other:?}"),
        }
    }
}

#[test]
fn representable_range_stops_at_the_surrogates() {
    // Every byte-level symbol is in the bundled vocabulary: everything from min_token up to the
    // code point before U+D800 is representable, and the message names exactly that.
    let t = tok();
    let (lo, hi) = (-354, 0xD7FF - 354);
    encode_q(&t, hi).unwrap();
    match encode_q(&t, hi + 1) {
        Err(e @ Error::Encode { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(&format!("outside {lo} to {hi}")), "{msg}");
            assert!(msg.contains("not a Unicode scalar value"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    match encode_q(&t, lo - 1) {
        Err(Error::Encode {
            reason: reason @ EncodeIssue::BelowMinToken { .. },
            ..
        }) => assert_eq!(representable(&reason), Some(Representable { lo, hi })),
        other => panic!("{other:?}"),
    }
}

#[test]
fn shapes_that_do_not_match_or_overflow() {
    let t = tok();
    let x = vec![0.0f64; 12];
    for shape in [[2, 3, 3], [usize::MAX, 2, 2], [2, usize::MAX, usize::MAX]] {
        assert!(
            matches!(
                t.encode(&x, shape, Overflow::Raise),
                Err(Error::InvalidArgument(_))
            ),
            "{shape:?}"
        );
    }
}

#[test]
fn empty_batches_and_chunks() {
    let t = tok();
    assert!(t
        .encode::<f64>(&[], [0, 4, 2], Overflow::Raise)
        .unwrap()
        .is_empty());
    // D = 0 is refused like H = 0: it would encode to no tokens, which decode refuses.
    let e = t
        .encode::<f64>(&[], [3, 4, 0], Overflow::Raise)
        .unwrap_err();
    assert!(
        e.to_string().contains("(3, 4, 0)") && e.to_string().contains("D must be"),
        "{e}"
    );
    let e = t
        .encode::<f64>(&[], [3, 0, 4], Overflow::Raise)
        .unwrap_err();
    assert!(e.to_string().contains("(3, 0, 4)"), "{e}");
    let empty: [Vec<i64>; 0] = [];
    let out = t.decode(&empty, 1 << 40, 1, OnDecodeError::Raise).unwrap();
    assert!(out.actions.is_empty() && out.valid.is_empty());
}

#[test]
fn unknown_ids_never_wrap_around() {
    let t = tok();
    let good = t
        .encode(&[0.0f64; 4], [1, 2, 2], Overflow::Raise)
        .unwrap()
        .remove(0);
    for bad in [-1, i64::MIN, i64::MAX, 1024, (1 << 32) + i64::from(good[0])] {
        let mut seq: Vec<i64> = good.iter().map(|&i| i64::from(i)).collect();
        seq.insert(0, bad);
        match t.decode(&[seq], 2, 2, OnDecodeError::Raise) {
            Err(Error::Decode {
                chunk: 0,
                reason:
                    DecodeIssue::UnknownId {
                        position: 0,
                        id,
                        vocab_len: 1024,
                    },
            }) => assert_eq!(id, bad),
            other => panic!("{bad}: {other:?}"),
        }
    }
    // The range is stated inclusive, in the words every id-range message uses.
    let e = t
        .decode(&[vec![1024i64]], 2, 2, OnDecodeError::Raise)
        .unwrap_err();
    assert!(
        e.to_string()
            .ends_with("(valid ids are 0 to 1023, inclusive)"),
        "{e}"
    );
    let grown = TOKENIZER.replacen("\"vocab\": {", "\"vocab\": {\"new\": 2048, ", 1);
    let msg = format_error(FastTokenizer::from_json(&grown, CONFIG), "tokenizer.json");
    assert!(
        msg.contains("= 2048 is out of range: for 1025 tokens, valid ids are 0 to 1024, inclusive"),
        "{msg}"
    );
}

#[test]
fn normalizer_dimension_mismatch_is_worded_for_encode_and_for_decode() {
    // A normalizer for 3-dimensional actions. Encoding 2-dimensional actions names the actions;
    // decoding to action_dim=2 has no actions to name: it names the shape asked for and the
    // likely cause, ids from another tokenizer.
    let rows: Vec<f64> = (0..30).map(|i| f64::from(i % 7)).collect();
    let norm = Normalizer::fit(NormalizerKind::MinMax, &[&rows[..]], 3).unwrap();
    let t = tok().with_normalizer(Some(norm));
    let e = t
        .encode(&[0.0f64; 8], [1, 4, 2], Overflow::Raise)
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument(_)) && e.to_string().contains("actions have 2"),
        "{e}"
    );
    let ids = tok()
        .encode(&[0.0f64; 8], [1, 4, 2], Overflow::Raise)
        .unwrap();
    let e = t.decode(&ids, 4, 2, OnDecodeError::Raise).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    for needle in [
        "cannot decode to action_dim=2",
        "normalizer is for 3-dimensional actions",
        "another tokenizer",
    ] {
        assert!(msg.contains(needle), "{needle:?} missing: {msg}");
    }
    assert!(!msg.contains("actions have"), "{msg}");
}

#[test]
fn decode_shapes_that_overflow_or_cannot_be_allocated() {
    let t = tok();
    let seqs = vec![vec![300i64]; 3];
    for (h, d) in [(usize::MAX, 2), (1 << 62, 4), (0, 3), (3, 0)] {
        assert!(
            matches!(
                t.decode(&seqs, h, d, OnDecodeError::Pad),
                Err(Error::InvalidArgument(_))
            ),
            "({h}, {d})"
        );
    }
    let e = t
        .decode(&seqs, 1 << 20, 1 << 20, OnDecodeError::Pad)
        .unwrap_err();
    assert!(
        e.to_string().contains("(1048576, 1048576)") && e.to_string().contains("memory"),
        "{e}"
    );
}

#[test]
fn decode_padded_inconsistent_arguments() {
    let t = tok();
    let ids = vec![300i64; 6];
    for (width, lengths) in [
        (3, vec![3i64, 3, 3]),
        (usize::MAX, vec![1, 1]),
        (3, vec![-1, 3]),
        (3, vec![4, 3]),
    ] {
        assert!(
            matches!(
                t.decode_padded(&ids, width, &lengths, 1, 1, OnDecodeError::Pad),
                Err(Error::InvalidArgument(_))
            ),
            "{width} {lengths:?}"
        );
    }
}

#[test]
fn config_values_that_would_overflow_are_refused() {
    for (key, value) in [
        ("min_token", "9223372036854775807"),
        ("min_token", "-9223372036854775808"),
        ("min_token", "4503599627370497"),
        ("scale", "5e-324"),
        ("scale", "0"),
        ("vocab_size", "0"),
        ("time_horizon", "-3"),
    ] {
        let msg = format_error(
            FastTokenizer::from_json(TOKENIZER, &config_with(key, value)),
            "processor_config.json",
        );
        assert!(msg.contains(key), "{key}={value}: {msg}");
    }
}

#[test]
fn largest_accepted_min_token_decodes_exactly() {
    let t = FastTokenizer::from_json(TOKENIZER, &config_with("min_token", "-4503599627370496"))
        .unwrap();
    // id 0 is the token "\0": coefficient (0 + min_token) / scale
    let out = t.decode(&[vec![0i64]], 1, 1, OnDecodeError::Raise).unwrap();
    assert_eq!(out.actions, vec![-4503599627370496.0 / 10.0]);
}

#[test]
fn malformed_tokenizer_files() {
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    let half = (TOKENIZER.len() / 2..)
        .find(|&i| TOKENIZER.is_char_boundary(i))
        .unwrap();
    let truncated = &TOKENIZER[..half];
    for (text, needle) in [
        (deep.as_str(), "recursion limit"),
        (truncated, "EOF"),
        ("", "EOF"),
        (
            "{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}",
            "pre_tokenizer",
        ),
    ] {
        let msg = format_error(FastTokenizer::from_json(text, CONFIG), "tokenizer.json");
        assert!(msg.contains(needle), "{msg}");
    }
    let no_vocab = TOKENIZER.replacen("\"vocab\": {", "\"vocab\": {}, \"was\": {", 1);
    let msg = format_error(
        FastTokenizer::from_json(&no_vocab, CONFIG),
        "tokenizer.json",
    );
    assert!(msg.contains("model.vocab is empty"), "{msg}");
}

#[test]
fn missing_and_unreadable_paths() {
    let dir = std::env::temp_dir().join(format!("actok-bad-inputs-{}", std::process::id()));
    assert!(matches!(
        FastTokenizer::from_pretrained(dir.join("missing")),
        Err(Error::Io { .. })
    ));
    std::fs::create_dir_all(dir.join("t/tokenizer.json")).unwrap();
    std::fs::write(dir.join("t/processor_config.json"), CONFIG).unwrap();
    match FastTokenizer::from_pretrained(dir.join("t")) {
        Err(e @ Error::Io { .. }) => assert!(e.to_string().contains("tokenizer.json"), "{e}"),
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn padded_batches_that_cannot_be_allocated() {
    let tok = tok();
    // B × max_length overflows usize: an error, not an empty batch (it used to wrap to 0).
    match tok.encode_padded(&[0.0f64; 4], [2, 1, 2], Overflow::Raise, Some(1 << 63), 0) {
        Err(Error::InvalidArgument(msg)) => assert!(msg.contains("does not fit"), "{msg}"),
        other => panic!("expected an error, got {other:?}"),
    }
    // A huge max_length: the allocation fails, no capacity panic.
    match tok.encode_padded(&[0.0f64; 2], [1, 1, 2], Overflow::Raise, Some(1 << 62), 0) {
        Err(Error::InvalidArgument(msg)) => assert!(msg.contains("1 rows of"), "{msg}"),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn oversized_files_are_refused_before_reading() {
    let dir = std::env::temp_dir().join(format!("actok-oversized-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("processor_config.json"), CONFIG).unwrap();
    // A sparse file one byte over the cap: refused from its size, without reading 256 MiB.
    let file = std::fs::File::create(dir.join("tokenizer.json")).unwrap();
    file.set_len(actok::MAX_TOKENIZER_FILE_BYTES as u64 + 1)
        .unwrap();
    let msg = format_error(FastTokenizer::from_pretrained(&dir), "tokenizer.json");
    assert!(
        msg.contains("more than the limit of 268435456 bytes"),
        "{msg}"
    );
    std::fs::write(dir.join("tokenizer.json"), TOKENIZER).unwrap();
    let config = std::fs::File::create(dir.join("processor_config.json")).unwrap();
    config
        .set_len(actok::MAX_CONFIG_FILE_BYTES as u64 + 1)
        .unwrap();
    let msg = format_error(
        FastTokenizer::from_pretrained(&dir),
        "processor_config.json",
    );
    assert!(msg.contains("1048577 bytes"), "{msg}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shape_check_names_both_shapes_unless_turned_off() {
    let recorded = FastTokenizer::from_json(TOKENIZER, CONFIG).unwrap();
    assert_eq!(recorded.config().time_horizon, Some(20));
    let x = vec![0.1f64; 2 * 10 * 7];
    let err = recorded
        .encode(&x, [2, 10, 7], Overflow::Raise)
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    for words in ["(10, 7)", "(20, any)", "horizon 20", "check_shape=False"] {
        assert!(msg.contains(words), "{words:?} not in {msg}");
    }
    let any_shape = EncodeOptions {
        overflow: Overflow::Raise,
        check_shape: false,
    };
    let ids = recorded.encode(&x, [2, 10, 7], any_shape).unwrap();
    assert_eq!(ids, tok().encode(&x, [2, 10, 7], Overflow::Raise).unwrap());
    let x = vec![0.1f64; 2 * 20 * 7];
    assert!(recorded.encode(&x, [2, 20, 7], Overflow::Raise).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Constrained decoding
// ---------------------------------------------------------------------------------------------

fn invalid_argument<T: std::fmt::Debug>(result: actok::Result<T>, needles: &[&str]) {
    match result {
        Err(e @ Error::InvalidArgument(_)) => {
            let msg = e.to_string();
            for needle in needles {
                assert!(msg.contains(needle), "{needle:?} not in {msg}");
            }
        }
        other => panic!("expected an invalid argument, got {other:?}"),
    }
}

#[test]
fn constraint_shapes_that_cannot_be_built() {
    invalid_argument(tok().constraint(0, 3), &["(0, 3)", "at least 1"]);
    invalid_argument(tok().constraint(3, 0), &["(3, 0)"]);
    invalid_argument(tok().constraint(usize::MAX, 2), &["invalid chunk shape"]);
    // Representable, but no memory for it: an error, not an abort.
    invalid_argument(tok().constraint(1 << 40, 1 << 20), &["out of memory"]);
}

#[test]
fn constraint_refuses_ids_naming_id_position_and_state() {
    let tok = tok();
    let mut c = tok.constraint(2, 2).unwrap();
    let vocab_len = tok.bpe().vocab_len() as i64;
    for id in [-1, vocab_len, i64::MAX] {
        let err = c.advance(id).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(
                err,
                Error::NotAllowed {
                    row: None,
                    position: 0,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            msg.contains(&format!("token id {id} at position 0")),
            "{msg}"
        );
        assert!(msg.contains("after 0 of 4 coefficients"), "{msg}");
        assert!(msg.contains("valid ids are 0 to"), "{msg}");
    }
    // The lead byte of zero's two bytes, then a byte that cannot continue it.
    let lead = i64::from(tok.bpe().byte_id(0xC5).unwrap());
    c.advance(lead).unwrap();
    let err = c.advance(lead).unwrap_err().to_string();
    assert!(
        err.contains(
            "at position 1 is not allowed after 0 of 4 coefficients, with a character \
                      pending (1 more byte, the next in 80..BF): its bytes are not valid UTF-8"
        ),
        "{err}"
    );
    let mut out = vec![false; 5];
    invalid_argument(c.mask_into(&mut out), &["out has 5"]);
}

#[test]
fn constraint_batch_refuses_bad_mappings_and_outputs() {
    use actok::{ConstraintBatch, VocabMapping};
    let tok = tok();
    let table = tok.constraint_table(2, 2).unwrap();
    let v = table.vocab_len();
    let batch = |map: Option<Vec<i64>>, size: Option<usize>, end: Option<i64>| {
        let mapping = VocabMapping {
            map,
            model_vocab_size: size,
            end_id: end,
        };
        ConstraintBatch::new(table.clone(), 2, &mapping)
    };
    let good: Vec<i64> = (0..v as i64).map(|i| i + 10).collect();
    invalid_argument(
        batch(Some(good.clone()), None, None),
        &["needs model_vocab_size"],
    );
    invalid_argument(
        batch(Some(good[1..].to_vec()), Some(v + 10), None),
        &[
            &format!("vocab_map has {} entries", v - 1),
            &format!("has {v} ids"),
        ],
    );
    let mut dup = good.clone();
    dup[7] = dup[3];
    invalid_argument(
        batch(Some(dup), Some(v + 10), None),
        &["vocab_map[3] and vocab_map[7] are both 13"],
    );
    let mut out_of_range = good.clone();
    out_of_range[5] = (v + 10) as i64;
    invalid_argument(
        batch(Some(out_of_range.clone()), Some(v + 10), None),
        &[&format!("vocab_map[5] = {} is not a model id", v + 10)],
    );
    out_of_range[5] = -4;
    invalid_argument(
        batch(Some(out_of_range), Some(v + 10), None),
        &["vocab_map[5] = -4"],
    );
    invalid_argument(
        batch(Some(good.clone()), Some(v + 10), Some(12)),
        &[
            "end_id 12 is the model id of action id 2",
            "outside the vocab_map",
        ],
    );
    invalid_argument(
        batch(Some(good.clone()), Some(v + 10), Some(-1)),
        &["end_id -1"],
    );
    invalid_argument(
        batch(None, Some(v - 1), None),
        &["smaller than the tokenizer's"],
    );
    invalid_argument(
        batch(None, None, Some(0)),
        &["end_id 0 is the model id of action id 0"],
    );
    let b = batch(Some(good), Some(v + 10), Some(0)).unwrap();
    let mut out = vec![false; 2 * (v + 10)];
    invalid_argument(
        b.mask_into(&mut out, &[v + 10, 2]),
        &[
            &format!("out has shape ({}, 2)", v + 10),
            &format!("(2, {})", v + 10),
        ],
    );
    invalid_argument(b.mask_into(&mut out[1..], &[2, v + 10]), &["out has shape"]);
}
