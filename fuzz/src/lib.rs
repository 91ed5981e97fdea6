//! What the fuzz targets share: the bundled tokenizer and the invariants every successful encode
//! or decode must satisfy.
//!
//! The invariants are checked here rather than in each target so that a failing check reads the
//! same wherever it fires, and so that `decode_ids` and `encode_actions` hold each other's results
//! to the same standard.

use std::sync::LazyLock;

use actok::{Error, FastTokenizer, OnDecodeError, Overflow};

/// The bundled robosuite tokenizer's `tokenizer.json`, embedded so the targets need no files.
pub const TOKENIZER_JSON: &str =
    include_str!("../../python/actok/data/robosuite_fast/tokenizer.json");
/// Its `processor_config.json` (scale 10, min_token -354).
pub const CONFIG_JSON: &str =
    include_str!("../../python/actok/data/robosuite_fast/processor_config.json");

/// [`CONFIG_JSON`] without its recorded `time_horizon` (a universal tokenizer): the targets
/// encode chunks of every small shape, and the shape check is not what they fuzz.
pub static UNIVERSAL_CONFIG_JSON: LazyLock<String> = LazyLock::new(|| {
    let text = CONFIG_JSON.replace("\"time_horizon\": 20", "\"time_horizon\": null");
    assert_ne!(
        text, CONFIG_JSON,
        "the bundled config no longer records time_horizon 20"
    );
    text
});

/// The bundled tokenizer, parsed once per process (parsing costs far more than one input).
pub static TOKENIZER: LazyLock<FastTokenizer> = LazyLock::new(|| {
    FastTokenizer::from_json(TOKENIZER_JSON, &UNIVERSAL_CONFIG_JSON)
        .expect("the bundled tokenizer loads")
});

/// Largest distance, per action dimension (one column of the chunk), between a chunk and the
/// decoding of its encoding when no coefficient was clipped.
///
/// Why: the orthonormal DCT-II (scipy `norm="ortho"`) preserves Euclidean length along time, so
/// for each dimension `‖decode(encode(x)) − x‖₂ = ‖Q/scale − C‖₂`, where `C` are the column's
/// `H` coefficients and `Q = round(C·scale)`. Each `|Q/scale − C| ≤ 0.5/scale`, hence the bound
/// `0.5·√H / scale` on the column's 2-norm (and so on every element). `slack` covers the
/// floating-point error of the forward and inverse transforms (a few ulps of the column's norm
/// per butterfly level), which can also tip a coefficient within an ulp of `k + 0.5` to the
/// other side.
pub fn column_bound(horizon: usize, scale: f64, column_norm: f64) -> f64 {
    let h = horizon as f64;
    let slack = 64.0 * f64::EPSILON * (1.0 + column_norm) * h.sqrt() * (1.0 + h.log2().ceil());
    0.5 * h.sqrt() / scale + slack
}

/// Asserts that `decoded` is within [`column_bound`] of `input` in every column of every chunk.
pub fn assert_within_bound(input: &[f64], decoded: &[f64], horizon: usize, dim: usize) {
    let scale = TOKENIZER.config().scale;
    assert_eq!(input.len(), decoded.len());
    let chunk_len = horizon * dim;
    for (b, (x, y)) in input
        .chunks(chunk_len)
        .zip(decoded.chunks(chunk_len))
        .enumerate()
    {
        for d in 0..dim {
            let (mut err2, mut norm2) = (0.0f64, 0.0f64);
            for t in 0..horizon {
                let (a, c) = (x[t * dim + d], y[t * dim + d]);
                err2 += (a - c) * (a - c);
                norm2 += a * a;
            }
            let (err, norm) = (err2.sqrt(), norm2.sqrt());
            let bound = column_bound(horizon, scale, norm);
            assert!(
                err <= bound,
                "chunk {b}, dimension {d}: round-trip error {err:e} exceeds the bound {bound:e} \
                 (H={horizon}, column norm {norm:e})"
            );
        }
    }
}

/// Decodes `ids` as one chunk with `on_error="raise"`.
pub fn decode_one(ids: &[u32], horizon: usize, dim: usize) -> actok::Result<Vec<f64>> {
    let seq: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
    TOKENIZER
        .decode(&[seq], horizon, dim, OnDecodeError::Raise)
        .map(|d| d.actions)
}

/// A decoded chunk's coefficients are representable by construction, so encoding it again must
/// give exactly `ids` (the canonical BPE encoding of the same characters): the round trip
/// `ids → actions → ids` is the identity on every sequence `encode` can produce.
pub fn assert_reencodes(decoded: &[f64], horizon: usize, dim: usize, ids: &[u32]) {
    let again = TOKENIZER
        .encode(decoded, [1, horizon, dim], Overflow::Raise)
        .unwrap_or_else(|e| panic!("re-encoding a decoded chunk failed: {e}"));
    assert_eq!(again[0], ids, "re-encoding a decoded chunk changed its ids");
}

/// Whether `e` is the error type a bad chunk must produce (and names a chunk inside the batch).
pub fn is_encode_error(e: &Error, batch: usize, chunk_len: usize) -> bool {
    matches!(e, Error::Encode { chunk, index, .. } if *chunk < batch && *index < chunk_len)
}
