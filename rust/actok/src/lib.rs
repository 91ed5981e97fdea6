//! # actok
//!
//! FAST robot-action tokenization (Pertsch et al., 2025): a DCT along time, quantization, and a
//! byte-level BPE — computed in Rust, token-for-token identical to the Hugging Face reference
//! processor, and without its silent data loss.
//!
//! ```no_run
//! use actok::{FastTokenizer, OnDecodeError, Overflow};
//!
//! let tok = FastTokenizer::from_pretrained("path/to/fast")?;
//! let actions = vec![0.0f32; 2 * 50 * 14]; // (B, H, D) row-major, normalized to [-1, 1]
//! let ids = tok.encode(&actions, [2, 50, 14], Overflow::Raise)?;
//! let decoded = tok.decode(&ids, 50, 14, OnDecodeError::Raise)?;
//! assert_eq!(decoded.actions.len(), actions.len());
//! # Ok::<(), actok::Error>(())
//! ```
//!
//! The exact behaviour is specified in `docs/semantics.md`, the files in `docs/formats.md`, and
//! the layers in `ARCHITECTURE.md`. The one intended numerical difference: actok computes every
//! transform in `f64`, also for `f32` input, where scipy would compute in single precision; this
//! agrees with scipy's `f64` path on the upcast input.
//!
//! Batch functions run on actok's own thread pool, sized by [`set_num_threads`] or the
//! `ACTOK_NUM_THREADS` environment variable. [`FastTokenizer::decode`] takes the ids
//! [`FastTokenizer::encode`] returns ([`TokenId`], `u32`) as they are, or any other integer
//! type ([`InputId`]: `i32`, `i64`, `u64`, ...) from elsewhere; nothing needs converting.
//!
//! ## Embedding: real-time loops and other languages
//!
//! A control loop wants no allocation and no thread hand-off per call, and buffers it owns.
//! [`FastTokenizer::encode_into`] and [`FastTokenizer::decode_into`] have the semantics (and the
//! messages) of `encode` and `decode_padded`, writing into the caller's rows;
//! [`FastTokenizer::max_tokens`] is a row width that always suffices (a chunk needing more ids
//! than its row is an error, never a truncation). A batch below the pool's threshold, any batch
//! of one, runs on the calling thread, and after one call with a given tokenizer and shape on a
//! thread, later successful calls with that shape on that thread allocate nothing:
//!
//! ```no_run
//! use actok::{FastTokenizer, OnDecodeError, Overflow};
//!
//! let tok = FastTokenizer::from_pretrained("path/to/fast")?;
//! let (h, d) = (50, 14);
//! let mut ids = vec![0u32; tok.max_tokens(h, d).expect("fits in memory")];
//! let mut len = [0usize];
//! let mut actions = vec![0.0f32; h * d];
//! loop {
//!     let chunk = [0.0f32; 50 * 14]; // the policy's next chunk (raw units if the tokenizer
//!                                     // carries a normalizer)
//!     let stride = ids.len();
//!     tok.encode_into(&chunk, [1, h, d], Overflow::Raise, &mut ids, stride, &mut len)?;
//!     tok.decode_into(&ids, stride, &len, h, d, OnDecodeError::Raise, &mut actions, None)?;
//! #   break;
//! }
//! # Ok::<(), actok::Error>(())
//! ```
//!
//! The C ABI (`rust/actok-c`: `libactok_c`, `include/actok.h` and the C++17 wrapper
//! `actok.hpp`) is these two calls behind status codes and a per-thread error message.
#![deny(missing_docs)]

pub(crate) mod bpe;
mod constraint;
pub mod dct;
mod error;
pub(crate) mod fast;
pub(crate) mod format;
pub mod options;
mod parallel;
mod release_memory;
mod sample;
mod token_id;

pub use bpe::{Bpe, BpeScratch};
pub use constraint::{
    openpi_vocab_map, Constraint, ConstraintBatch, ConstraintTable, Pending, VocabMapping, NO_TOKEN,
};
pub use error::{
    ConstraintState, DecodeIssue, EncodeIssue, Error, Place, Quantity, RangeIssue, Refusal,
    Representable, Result,
};
pub use fast::chunking::{chunk_count, chunk_episodes};
pub use fast::episodes::episodes_dim;
pub use fast::fit::{FitOptions, FitProgress, FitStage, ProgressFn};
pub use fast::fit_report::{
    FitReport, PlacementReport, PlacementTrial, ScaleReport, ScaleTrial, FIT_REPORT_KEY,
};
pub use fast::normalizer::{Normalizer, Statistics, MEANSTD_SEEN_STDS, QUANTILES};
pub use fast::placement::Placement;
pub use fast::tokenizer::{
    Decoded, EncodeOptions, Encoded, EncodedRows, FastTokenizer, Padded, TokenRows,
};
pub use format::directory::{CONFIG_FILE, TOKENIZER_FILE};
pub use format::layout::TOKENIZER_SUBFOLDER;
pub use format::normalizer_file::{MAX_NORMALIZER_FILE_BYTES, NORMALIZER_FILE};
pub use format::processor_config::{ProcessorConfig, MAX_CONFIG_FILE_BYTES};
pub use format::tokenizer_json::{
    TokenizerSections, MAX_MERGES, MAX_TOKENIZER_FILE_BYTES, MAX_TOKEN_CHARS, MAX_VOCAB_SIZE,
};
pub use options::{
    Choice, ChunkPad, FitAlphabet, NormalizerKind, OnDecodeError, OutOfRange, Overflow,
    PlacementMode,
};
pub use parallel::{num_threads, set_num_threads, NUM_THREADS_ENV};
pub use sample::Sample;
pub use token_id::{InputId, TokenId};

/// Splits text into GPT-2 pieces exactly as the `tokenizers` ByteLevel pre-tokenizer does.
///
/// Exposed for testing parity against the `tokenizers` library.
pub fn pretokenize(text: &str) -> Vec<&str> {
    let chars: Vec<char> = text.chars().collect();
    let mut ends = Vec::new();
    bpe::pretokenize::split_pieces(&chars, &mut ends);
    let mut pieces = Vec::with_capacity(ends.len());
    let (mut start_byte, mut start_char) = (0usize, 0usize);
    for end in ends {
        let len: usize = chars[start_char..end].iter().map(|c| c.len_utf8()).sum();
        pieces.push(&text[start_byte..start_byte + len]);
        start_byte += len;
        start_char = end;
    }
    pieces
}
