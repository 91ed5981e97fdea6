//! The FAST tokenizer: DCT → quantize → characters → byte-level BPE, and back.

use std::mem::MaybeUninit;

use crate::bpe::{Bpe, BpeScratch};
use crate::dct::inverse::{as_uninit, zeros, InverseDct, InverseScratch, ROW_SLACK};
use crate::error::{DecodeIssue, EncodeIssue, Error, Place, Result};
use crate::fast::code::CoefficientCode;
use crate::fast::coefficient_range::CoefficientRange;
use crate::fast::normalizer::Normalizer;
use crate::fast::pipeline::{ChunkBuffers, ChunkPipeline, ValueFault};
use crate::fast::token_values::{TokenValues, Written};
use crate::format::processor_config::ProcessorConfig;
use crate::format::tokenizer_json::TokenizerSections;
use crate::options::{OnDecodeError, Overflow};
use crate::parallel;
use crate::sample::Sample;
use crate::token_id::{unknown_id, InputId, TokenId};

mod into;
mod rows;

pub use rows::{EncodedRows, TokenRows};

/// Decoded actions and which chunks decoded cleanly.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// Actions, row-major `(B, H, D)`.
    pub actions: Vec<f64>,
    /// `valid[b]` is true when chunk `b` decoded without any repair.
    pub valid: Vec<bool>,
}

/// Token sequences padded to a rectangle, for data loaders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Padded {
    /// Ids, row-major `(B, width)`.
    pub ids: Vec<i32>,
    /// Number of real tokens in each row.
    pub lengths: Vec<i32>,
    /// Row width.
    pub width: usize,
    /// Values the normalizer clipped, per action dimension (see [`Encoded::clipped`]).
    pub clipped: Vec<u64>,
}

/// Token ids of a batch, with what the normalizer clipped on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// One id list per chunk.
    pub ids: Vec<Vec<TokenId>>,
    /// How many input values the attached normalizer clipped, per action dimension: empty
    /// when none was (always, unless its policy is [`crate::OutOfRange::Clip`]).
    pub clipped: Vec<u64>,
}

/// How [`FastTokenizer::encode`] treats what it cannot represent. An [`Overflow`] converts
/// into it (with the shape check on), so `encode(x, shape, Overflow::Raise)` reads as before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeOptions {
    /// What to do with a coefficient the vocabulary cannot represent.
    pub overflow: Overflow,
    /// Refuse chunks whose `(H, D)` differs from the `time_horizon`/`action_dim` the tokenizer
    /// records (from its fit); `false` encodes any shape. Without recorded values (a universal
    /// tokenizer) every shape is accepted either way.
    pub check_shape: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Overflow::default().into()
    }
}

impl From<Overflow> for EncodeOptions {
    fn from(overflow: Overflow) -> Self {
        Self {
            overflow,
            check_shape: true,
        }
    }
}

/// A FAST action tokenizer.
///
/// Immutable once built, so one instance can be shared by any number of threads.
#[derive(Clone, Debug)]
pub struct FastTokenizer {
    config: ProcessorConfig,
    bpe: Bpe,
    sections: TokenizerSections,
    range: CoefficientRange,
    /// Each token's decoded coefficients, for the decoder's fast path.
    values: TokenValues,
    /// Raw actions ↔ `[-1, 1]`: applied before the DCT on encode, inverted after the IDCT on decode.
    normalizer: Option<Normalizer>,
}

thread_local! {
    /// Buffers of the calling thread and of every pool thread, kept across calls: a fresh set
    /// per call (the BPE queues are sized by the merge count) cost more than encoding one chunk.
    static ENCODE_BUFFERS: std::cell::RefCell<EncodeBuffers> = Default::default();
    static DECODE_BUFFERS: std::cell::RefCell<DecodeBuffers> = Default::default();
}

/// Per-thread buffers reused across decoded chunks.
#[derive(Default)]
struct DecodeBuffers {
    bytes: Vec<u8>,
    coefficients: Vec<f64>,
    inverse: InverseScratch,
    /// One chunk's actions, for outputs that are not `f64` ([`FastTokenizer::decode_into`]) or
    /// that are written with non-temporal stores ([`stream_into`]).
    actions: Vec<f64>,
}

/// Per-thread buffers reused across encoded chunks.
#[derive(Default)]
struct EncodeBuffers {
    chunk: ChunkBuffers,
    bpe: BpeScratch,
    /// One chunk's ids ([`FastTokenizer::encode_into`]).
    ids: Vec<TokenId>,
}

/// The calling thread's [`ENCODE_BUFFERS`], taken out for a run of chunks and put back when
/// dropped: one thread-local access per run rather than per chunk (on 20-value chunks the
/// per-chunk access was a noticeable share of the chunk's cost). A nested run on the same thread
/// (work stealing) finds the slot empty and starts from empty buffers; either set is put back.
struct TakenEncodeBuffers(EncodeBuffers);

impl TakenEncodeBuffers {
    fn take() -> Self {
        Self(ENCODE_BUFFERS.with_borrow_mut(std::mem::take))
    }
}

impl Drop for TakenEncodeBuffers {
    fn drop(&mut self) {
        let buffers = std::mem::take(&mut self.0);
        // `try_with`: the thread-local may already be gone while the thread exits.
        let _ = ENCODE_BUFFERS.try_with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut() {
                *slot = buffers;
            }
        });
    }
}

impl FastTokenizer {
    /// Assembles a tokenizer from its parts.
    pub fn new(config: ProcessorConfig, bpe: Bpe, sections: TokenizerSections) -> Self {
        let code = CoefficientCode::new(config.min_token, config.scale);
        let range = CoefficientRange::new(&bpe, code);
        let values = TokenValues::new(&bpe, config.min_token, config.scale);
        Self {
            config,
            bpe,
            sections,
            range,
            values,
            normalizer: None,
        }
    }

    /// This tokenizer with a normalizer attached (or removed, with `None`): `encode` then takes
    /// raw actions and `decode` returns raw actions. `save_pretrained` writes it as
    /// [`crate::NORMALIZER_FILE`] and `from_pretrained` loads it when present. The config's
    /// record of it (`"actok_normalizer"`, `docs/formats.md#directory-layout`) follows.
    pub fn with_normalizer(mut self, normalizer: Option<Normalizer>) -> Self {
        crate::format::directory::record_normalizer(&mut self.config, normalizer.is_some());
        self.normalizer = normalizer;
        self
    }

    /// The attached normalizer, if any.
    pub fn normalizer(&self) -> Option<&Normalizer> {
        self.normalizer.as_ref()
    }

    /// Fails unless the attached normalizer (if any) is for `dim`-dimensional actions.
    fn check_normalizer_dim(&self, dim: usize) -> Result<()> {
        match &self.normalizer {
            Some(n) if n.dim() != dim => Err(Error::InvalidArgument(format!(
                "actions have {dim} dimensions but the tokenizer's normalizer was fitted to {}",
                n.dim()
            ))),
            _ => Ok(()),
        }
    }

    /// Fails unless the attached normalizer (if any) is for `dim`-dimensional actions, in the
    /// terms of decoding: there are no actions yet, only ids and the shape asked for, so a
    /// mismatch usually means ids from another tokenizer (or a wrong `action_dim`).
    fn check_decode_dim(&self, dim: usize) -> Result<()> {
        match &self.normalizer {
            Some(n) if n.dim() != dim => Err(Error::InvalidArgument(format!(
                "cannot decode to action_dim={dim}: this tokenizer's normalizer is for {}-dimensional \
                 actions (were these ids made with another tokenizer, or is action_dim wrong?)",
                n.dim()
            ))),
            _ => Ok(()),
        }
    }

    /// The sections of `tokenizer.json` outside the model, as loaded (written back on save).
    pub(crate) fn sections(&self) -> &TokenizerSections {
        &self.sections
    }

    /// The processor settings.
    pub fn config(&self) -> &ProcessorConfig {
        &self.config
    }

    /// The config's extra keys are the only part a fit edits after assembly (its report): the
    /// settings the encoder and decoder read stay as [`FastTokenizer::new`] saw them.
    pub(crate) fn config_extra_mut(&mut self) -> &mut serde_json::Map<String, serde_json::Value> {
        &mut self.config.extra
    }

    /// The BPE model.
    pub fn bpe(&self) -> &Bpe {
        &self.bpe
    }

    /// Encodes a batch of chunks given row-major as `shape = (B, H, D)`; one id list per chunk.
    ///
    /// Chunks are processed in parallel on actok's pool. On failure the error names the first
    /// failing chunk (lowest index) and the position inside it. [`FastTokenizer::encode_counted`]
    /// also returns how many values the normalizer clipped.
    pub fn encode<T: Sample>(
        &self,
        actions: &[T],
        shape: [usize; 3],
        options: impl Into<EncodeOptions>,
    ) -> Result<Vec<Vec<TokenId>>> {
        Ok(self.encode_counted(actions, shape, options)?.ids)
    }

    /// [`FastTokenizer::encode`], with the count of values the normalizer clipped.
    pub fn encode_counted<T: Sample>(
        &self,
        actions: &[T],
        shape: [usize; 3],
        options: impl Into<EncodeOptions>,
    ) -> Result<Encoded> {
        let EncodedRows { rows, clipped } = self.encode_rows(actions, shape, options)?;
        Ok(Encoded {
            ids: rows.to_nested(),
            clipped,
        })
    }

    /// The checks of every encode before any chunk is looked at: `len` values form `shape`,
    /// `H ≥ 1`, `D ≥ 1`, the recorded shape (if asked) and the normalizer's dimension; returns
    /// `H×D`.
    fn check_encode(&self, len: usize, shape: [usize; 3], options: EncodeOptions) -> Result<usize> {
        let [batch, horizon, dim] = shape;
        let chunk_len = check_shape(len, shape)?;
        if horizon == 0 {
            return Err(Error::InvalidArgument(format!(
                "actions of shape ({batch}, {horizon}, {dim}) have no time steps: the time \
                 horizon H must be at least 1"
            )));
        }
        // D = 0 has no coefficients, so it would encode to no tokens, which no decode accepts
        // (it refuses D = 0 too): refused here as H = 0 is, rather than giving empty sequences.
        if dim == 0 {
            return Err(Error::InvalidArgument(format!(
                "actions of shape ({batch}, {horizon}, {dim}) have no action dimensions: the \
                 action dimension D must be at least 1"
            )));
        }
        if options.check_shape {
            self.check_recorded_shape(horizon, dim)?;
        }
        self.check_normalizer_dim(dim)?;
        Ok(chunk_len)
    }

    /// Fails when `(horizon, dim)` differs from what the config records (from the fit).
    fn check_recorded_shape(&self, horizon: usize, dim: usize) -> Result<()> {
        let (h0, d0) = (self.config.time_horizon, self.config.action_dim);
        if h0.map_or(true, |h| h == horizon) && d0.map_or(true, |d| d == dim) {
            return Ok(());
        }
        let recorded = |v: Option<usize>| v.map_or("any".to_string(), |v| v.to_string());
        Err(Error::InvalidArgument(format!(
            "chunks of shape (H, D) = ({horizon}, {dim}), but this tokenizer was fitted to \
             ({}, {}) chunks (time_horizon and action_dim in processor_config.json): chunk the \
             data with horizon {} (tokens of another horizon mean other DCT frequencies, and \
             decoding them needs that shape passed explicitly), or pass check_shape=False \
             (CLI: --any-shape) to encode other shapes on purpose",
            recorded(h0),
            recorded(d0),
            recorded(h0),
        )))
    }

    /// Like [`FastTokenizer::encode`], padded with `pad_id` to `max_length` (or to the longest
    /// sequence). A sequence longer than `max_length` is an error, never truncated.
    pub fn encode_padded<T: Sample>(
        &self,
        actions: &[T],
        shape: [usize; 3],
        options: impl Into<EncodeOptions>,
        max_length: Option<usize>,
        pad_id: i32,
    ) -> Result<Padded> {
        let EncodedRows {
            rows: sequences,
            clipped,
        } = self.encode_rows(actions, shape, options)?;
        let longest = sequences.iter().map(<[TokenId]>::len).max().unwrap_or(0);
        let width = match max_length {
            None => longest,
            Some(max) => {
                if let Some((chunk, seq)) =
                    sequences.iter().enumerate().find(|(_, s)| s.len() > max)
                {
                    return Err(Error::InvalidArgument(format!(
                        "chunk {chunk} encodes to {} tokens, more than max_length={max} \
                         (sequences are never truncated; raise max_length)",
                        seq.len()
                    )));
                }
                max
            }
        };
        let lengths = sequences.iter().map(|s| s.len() as i32).collect();
        let too_big = || {
            Error::InvalidArgument(format!(
                "a padded batch of {} rows of {width} ids does not fit in memory \
                 (lower max_length)",
                sequences.len()
            ))
        };
        let total = sequences.len().checked_mul(width).ok_or_else(too_big)?;
        let mut ids = Vec::new();
        ids.try_reserve_exact(total).map_err(|_| too_big())?;
        ids.resize(total, pad_id);
        if width > 0 {
            for (row, seq) in ids.chunks_mut(width).zip(sequences.iter()) {
                for (slot, &id) in row.iter_mut().zip(seq) {
                    *slot = id as i32;
                }
            }
        }
        Ok(Padded {
            ids,
            lengths,
            width,
            clipped,
        })
    }

    /// Appends one chunk's ids to `ids`; what the normalizer clipped in it per dimension is left
    /// in `buffers.chunk.clipped` (empty if nothing).
    fn encode_chunk<T: Sample>(
        &self,
        chunk: &[T],
        index: usize,
        pipeline: &ChunkPipeline<'_>,
        overflow: Overflow,
        buffers: &mut EncodeBuffers,
        ids: &mut Vec<TokenId>,
    ) -> Result<()> {
        let encode_error = |(at, reason): (usize, EncodeIssue)| Error::Encode {
            chunk: index,
            index: at,
            reason,
        };
        let EncodeBuffers {
            chunk: buf, bpe, ..
        } = buffers;
        pipeline.quantize(chunk, buf).map_err(|fault| match fault {
            ValueFault::NotFinite { at, value } => {
                encode_error((at, EncodeIssue::NotFinite { value }))
            }
            ValueFault::OutOfRange { at, value, issue } => {
                let dim = self.normalizer.as_ref().map_or(1, Normalizer::dim);
                Error::OutOfRange {
                    context: "cannot encode",
                    place: Place::Chunk {
                        chunk: index,
                        step: at / dim,
                        dimension: at % dim,
                    },
                    value,
                    issue,
                }
            }
        })?;
        // The common case in one pass from coefficients to units: every coefficient the code
        // point of a character the BPE's front end takes (it checks). Otherwise each coefficient
        // is converted with its checks (errors, clipping) first.
        let offset = self.config.min_token as f64;
        // Clipping below `min_token` is the lowest representable code point, which the front end
        // applies itself (clipping above, or to a code point past its table, takes the checks).
        let below = match overflow {
            Overflow::Clip => self.range.clip_below(),
            Overflow::Raise => None,
        };
        let (values, chars) = (&buf.coefficients, &mut buf.chars);
        if self
            .bpe
            .encode_code_points_below(values, offset, below, chars, bpe, ids)
        {
            return Ok(());
        }
        pipeline
            .characters(buf, |at, q| match self.range.char_for(q) {
                Ok(ch) => Ok(ch),
                // A non-finite coefficient has no character either: say what is wrong with it.
                Err(_) if !q.is_finite() => {
                    Err((at, EncodeIssue::CoefficientNotFinite { value: q }))
                }
                Err(issue) => match overflow {
                    Overflow::Raise => Err((at, issue)),
                    Overflow::Clip => self.range.nearest(q).ok_or((at, issue)),
                },
            })
            .map_err(encode_error)?;
        self.bpe.encode_text(&buf.chars, bpe, ids);
        Ok(())
    }

    /// The `(H, D)` to decode to: the arguments, else the config's, else an error.
    pub fn decode_shape(
        &self,
        time_horizon: Option<usize>,
        action_dim: Option<usize>,
    ) -> Result<(usize, usize)> {
        let horizon = time_horizon.or(self.config.time_horizon);
        let dim = action_dim.or(self.config.action_dim);
        match (horizon, dim) {
            (Some(h), Some(d)) if h >= 1 && d >= 1 => Ok((h, d)),
            (Some(_), Some(_)) => Err(Error::InvalidArgument(
                "time_horizon and action_dim must both be at least 1".into(),
            )),
            _ => {
                // Python users read this message too: no `Some(20)` / `None`.
                let recorded = |name: &str, v: Option<usize>| match v {
                    Some(v) => format!("{name}={v}"),
                    None => format!("no {name}"),
                };
                Err(Error::InvalidArgument(format!(
                    "decoding needs the chunk shape: pass time_horizon and action_dim (this \
                     tokenizer's config records {} and {})",
                    recorded("time_horizon", self.config.time_horizon),
                    recorded("action_dim", self.config.action_dim)
                )))
            }
        }
    }

    /// Decodes token sequences to actions of shape `(B, H, D)`.
    ///
    /// The ids are what [`FastTokenizer::encode`] returns ([`TokenId`]), or any [`InputId`]
    /// integers (e.g. `i64` from an untrusted source): a negative or too large one is reported
    /// as [`DecodeIssue::UnknownId`].
    pub fn decode<I: InputId, S: AsRef<[I]> + Sync>(
        &self,
        sequences: &[S],
        horizon: usize,
        dim: usize,
        on_error: OnDecodeError,
    ) -> Result<Decoded> {
        self.decode_rows(sequences, horizon, dim, Rule::Whole(on_error))
    }

    /// Decodes *prefixes* of token sequences ("anytime" decoding, `docs/semantics.md`,
    /// "Constrained decoding"): each sequence must be the start of one that
    /// [`FastTokenizer::decode`] could accept: known ids, bytes that are UTF-8 up to a possibly
    /// unfinished last character (which is dropped), at most `H·D` coefficients. Its coefficients
    /// are used and the missing ones (the highest frequencies) are zero: the low-frequency
    /// approximation of the chunk. `valid[b]` is true when sequence `b` is complete (exactly
    /// what `decode` accepts). Anything else is an [`Error::Decode`] naming the first such
    /// sequence.
    pub fn decode_prefix<I: InputId, S: AsRef<[I]> + Sync>(
        &self,
        sequences: &[S],
        horizon: usize,
        dim: usize,
    ) -> Result<Decoded> {
        self.decode_rows(sequences, horizon, dim, Rule::Prefix)
    }

    fn decode_rows<I: InputId, S: AsRef<[I]> + Sync>(
        &self,
        sequences: &[S],
        horizon: usize,
        dim: usize,
        rule: Rule,
    ) -> Result<Decoded> {
        let on_error = match rule {
            Rule::Whole(on_error) => on_error,
            // Keep the coefficients of whatever prefix decodes; which faults a prefix may have
            // is decided per chunk below.
            Rule::Prefix => OnDecodeError::Pad,
        };
        let chunk_len = into::decode_chunk_len(horizon, dim, sequences.len())?;
        self.check_decode_dim(dim)?;
        if sequences.is_empty() {
            // Nothing to transform: no plan for the horizon (which may be huge) is needed.
            return Ok(Decoded {
                actions: Vec::new(),
                valid: Vec::new(),
            });
        }
        // Each chunk decodes straight into its slice of the output, uninitialized until then:
        // no zeroing pass over the whole batch (a `calloc` of reused memory is a `memset` of
        // it, serial, before any decoding; of fresh memory, the first touch of every page).
        let total = sequences.len() * chunk_len;
        let mut actions: Vec<f64> = Vec::new();
        actions.try_reserve_exact(total).map_err(|_| {
            Error::InvalidArgument(format!(
                "cannot allocate {} decoded chunks of shape ({horizon}, {dim}): out of memory \
                 (are time_horizon and action_dim right?)",
                sequences.len()
            ))
        })?;
        // A batch far larger than the caches is written with non-temporal stores, from a
        // chunk decoded in cache: ordinary stores to memory not yet cached first read each
        // line in, which made writing the output a quarter of a decode.
        let stream = total * std::mem::size_of::<f64>() >= STREAM_BYTES;
        let inverse = InverseDct::new(horizon)?;
        // Per chunk: its output, what went wrong, whether it was written.
        type Slot<'a> = (&'a mut [MaybeUninit<f64>], Option<Outcome>, bool);
        let mut slots: Vec<Slot<'_>> = actions.spare_capacity_mut()[..total]
            .chunks_mut(chunk_len)
            .map(|out| (out, None, false))
            .collect();
        let min_parallel = parallel::min_parallel_items(chunk_len);
        parallel::for_each_block(
            &mut slots,
            1,
            min_parallel,
            || (),
            |_, b, slot| {
                let (out, outcome, written) = &mut slot[0];
                let ids = sequences[b].as_ref();
                let issue = DECODE_BUFFERS.with_borrow_mut(|buffers| {
                    if !stream {
                        return self.decode_chunk(ids, out, dim, &inverse, on_error, buffers);
                    }
                    let mut staged = std::mem::take(&mut buffers.actions);
                    staged.resize(chunk_len, 0.0);
                    let target = as_uninit(&mut staged);
                    let issue = self.decode_chunk(ids, target, dim, &inverse, on_error, buffers);
                    stream_into(&staged, out);
                    buffers.actions = staged;
                    issue
                });
                *outcome = issue.map(|issue| match rule {
                    Rule::Prefix if self.is_prefix(ids, &issue, chunk_len) => Outcome::Incomplete,
                    _ => Outcome::Fault(issue),
                });
                *written = true;
            },
        )?;
        let raise = matches!(rule, Rule::Prefix | Rule::Whole(OnDecodeError::Raise));
        let mut valid = Vec::with_capacity(sequences.len());
        let mut all_written = true;
        for (b, (_, outcome, written)) in slots.into_iter().enumerate() {
            all_written &= written;
            valid.push(outcome.is_none());
            if let Some(Outcome::Fault(reason)) = outcome {
                if raise {
                    return Err(Error::Decode { chunk: b, reason });
                }
            }
        }
        assert!(all_written, "every chunk is decoded");
        // SAFETY: the capacity is `total`, and every chunk of it was decoded (checked just
        // above), which writes each of its values.
        unsafe { actions.set_len(total) };
        Ok(Decoded { actions, valid })
    }

    /// Whether a sequence that `decode` refused with `issue` is a prefix of one it could accept:
    /// too short, or cut inside its last character after at most `len = H·D` whole ones.
    fn is_prefix<I: InputId>(&self, ids: &[I], issue: &DecodeIssue, len: usize) -> bool {
        match *issue {
            DecodeIssue::WrongLength { got, expected } => got < expected,
            DecodeIssue::InvalidUtf8 { .. } => {
                // Rare (a prefix that stops inside a character): rebuild the bytes to ask
                // whether the input ended early or held an invalid byte. Every id is known here,
                // or the issue would be the unknown id.
                let bytes: Vec<u8> = ids
                    .iter()
                    .filter_map(|id| id.token_id().and_then(|i| self.bpe.token_bytes(i)))
                    .flatten()
                    .copied()
                    .collect();
                match std::str::from_utf8(&bytes) {
                    Err(e) if e.error_len().is_none() => {
                        let whole = std::str::from_utf8(&bytes[..e.valid_up_to()])
                            .expect("valid up to there");
                        whole.chars().count() <= len
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }

    /// Decodes padded rows `ids` (row-major `(B, width)`) whose real lengths are `lengths`, such
    /// as the [`Padded`] rows of [`FastTokenizer::encode_padded`] (ids and lengths are any
    /// [`InputId`] integers, as in [`FastTokenizer::decode`]).
    pub fn decode_padded<I: InputId, L: InputId>(
        &self,
        ids: &[I],
        width: usize,
        lengths: &[L],
        horizon: usize,
        dim: usize,
        on_error: OnDecodeError,
    ) -> Result<Decoded> {
        let rows = padded_rows(ids, width, lengths)?;
        self.decode(&rows, horizon, dim, on_error)
    }

    /// [`FastTokenizer::decode_prefix`] of padded rows, as [`FastTokenizer::decode_padded`]
    /// takes them.
    pub fn decode_prefix_padded<I: InputId, L: InputId>(
        &self,
        ids: &[I],
        width: usize,
        lengths: &[L],
        horizon: usize,
        dim: usize,
    ) -> Result<Decoded> {
        let rows = padded_rows(ids, width, lengths)?;
        self.decode_prefix(&rows, horizon, dim)
    }

    /// Decodes one sequence into `out` (`H×D`, possibly uninitialized memory: every value is
    /// written, zeros for a sequence refused under `on_error` other than pad); returns the
    /// problem, if any.
    fn decode_chunk<I: InputId>(
        &self,
        ids: &[I],
        out: &mut [MaybeUninit<f64>],
        dim: usize,
        inverse: &InverseDct,
        on_error: OnDecodeError,
        buffers: &mut DecodeBuffers,
    ) -> Option<DecodeIssue> {
        let mut coefficients = std::mem::take(&mut buffers.coefficients);
        // `write` sets every value (no need to zero first); the slack after them lets the
        // inverse read whole rows in place.
        let n = out.len();
        coefficients.resize(n + ROW_SLACK, 0.0);
        if let Some(Written { count, nonzero_end }) = self.values.write(ids, &mut coefficients[..n])
        {
            // Fast path: every token is whole, its values were copied without building text.
            let issue = (count != out.len()).then_some(DecodeIssue::WrongLength {
                got: count,
                expected: out.len(),
            });
            if issue.is_none() || on_error == OnDecodeError::Pad {
                let out = inverse.apply(&coefficients, nonzero_end, out, dim, &mut buffers.inverse);
                self.apply_inverse_normalizer(out, dim);
            } else {
                zeros(out);
            }
            buffers.coefficients = coefficients;
            return issue;
        }
        buffers.coefficients = coefficients;
        let vocab_len = self.bpe.vocab_len();
        let bytes = &mut buffers.bytes;
        bytes.clear();
        let mut issue = None;
        for (position, &id) in ids.iter().enumerate() {
            match id.token_id().and_then(|i| self.bpe.token_bytes(i)) {
                Some(b) => bytes.extend_from_slice(b),
                None => {
                    issue = Some(unknown_id(position, id.value(), vocab_len));
                    break;
                }
            }
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                issue.get_or_insert(DecodeIssue::InvalidUtf8 {
                    byte_offset: e.valid_up_to(),
                });
                std::str::from_utf8(&bytes[..e.valid_up_to()]).expect("valid prefix")
            }
        };
        let mut coefficients = std::mem::take(&mut buffers.coefficients);
        coefficients.clear();
        coefficients.resize(out.len() + ROW_SLACK, 0.0);
        let mut count = 0usize;
        let code = CoefficientCode::new(self.config.min_token, self.config.scale);
        for ch in text.chars() {
            if count < out.len() {
                coefficients[count] = code.value(ch);
            }
            count += 1;
        }
        if issue.is_none() && count != out.len() {
            issue = Some(DecodeIssue::WrongLength {
                got: count,
                expected: out.len(),
            });
        }
        if issue.is_some() && on_error != OnDecodeError::Pad {
            buffers.coefficients = coefficients;
            zeros(out);
            return issue;
        }
        let n = out.len();
        let out = inverse.apply(&coefficients, n, out, dim, &mut buffers.inverse);
        buffers.coefficients = coefficients;
        self.apply_inverse_normalizer(out, dim);
        issue
    }

    /// Maps decoded normalized actions back to raw units, when a normalizer is attached.
    fn apply_inverse_normalizer(&self, out: &mut [f64], dim: usize) {
        if let Some(norm) = &self.normalizer {
            for (at, v) in out.iter_mut().enumerate() {
                *v = norm.inverse_value(at % dim, *v);
            }
        }
    }
}

/// Decoded batches at least this large (bytes) are written with non-temporal stores
/// ([`stream_into`]): well beyond the caches, where the data would be evicted before it is read.
const STREAM_BYTES: usize = 8 << 20;

/// `dst = src` with non-temporal stores (x86-64; a plain copy elsewhere), which write whole
/// lines to memory without reading them in first. Fenced, so the values are visible to other
/// threads (and to the caller's later reads) as any store's.
fn stream_into(src: &[f64], dst: &mut [MaybeUninit<f64>]) {
    assert_eq!(src.len(), dst.len());
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_loadu_pd, _mm_sfence, _mm_stream_pd};
        let ptr = dst.as_mut_ptr() as *mut f64;
        // One plain store first when `dst` is not 16-byte aligned (it is always 8-aligned).
        let head = ((ptr as usize) / 8 % 2).min(src.len());
        for i in 0..head {
            dst[i].write(src[i]);
        }
        let pairs = (src.len() - head) / 2;
        // SAFETY: SSE2 is part of x86-64. `ptr + head` is 16-byte aligned, and every pair
        // `[head + 2k, head + 2k + 2)` is inside both slices (`k < pairs`).
        unsafe {
            for k in 0..pairs {
                let at = head + 2 * k;
                _mm_stream_pd(ptr.add(at), _mm_loadu_pd(src.as_ptr().add(at)));
            }
            _mm_sfence();
        }
        for i in head + 2 * pairs..src.len() {
            dst[i].write(src[i]);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    for (d, &s) in dst.iter_mut().zip(src) {
        d.write(s);
    }
}

/// The real part of each padded row: `ids` is row-major `(lengths.len(), width)`.
fn padded_rows<'a, I: InputId, L: InputId>(
    ids: &'a [I],
    width: usize,
    lengths: &[L],
) -> Result<Vec<&'a [I]>> {
    if lengths.len().checked_mul(width) != Some(ids.len()) {
        return Err(Error::InvalidArgument(format!(
            "{} ids do not form {} rows of width {width} (one row per entry of lengths)",
            ids.len(),
            lengths.len()
        )));
    }
    let mut rows = Vec::with_capacity(lengths.len());
    for (b, len) in lengths.iter().map(|&len| len.value()).enumerate() {
        if len < 0 || len > width as i128 {
            return Err(Error::InvalidArgument(format!(
                "lengths[{b}] = {len} is outside 0 to {width}, inclusive (the ids' width)"
            )));
        }
        rows.push(&ids[b * width..b * width + len as usize]);
    }
    Ok(rows)
}

/// How [`FastTokenizer::decode_rows`] judges a sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    /// A whole chunk, faults handled by the `on_error` policy.
    Whole(OnDecodeError),
    /// A prefix of a chunk ([`FastTokenizer::decode_prefix`]).
    Prefix,
}

/// Why a sequence is not a clean chunk.
enum Outcome {
    /// A well-formed prefix, decoded with its missing coefficients zero.
    Incomplete,
    /// Not decodable as asked.
    Fault(DecodeIssue),
}

/// Validates a `(B, H, D)` shape against a buffer length; returns `H×D`.
fn check_shape(len: usize, shape: [usize; 3]) -> Result<usize> {
    let [b, h, d] = shape;
    let chunk = h.checked_mul(d);
    match chunk.and_then(|c| c.checked_mul(b)) {
        Some(total) if total == len => Ok(chunk.expect("checked")),
        _ => Err(Error::InvalidArgument(format!(
            "actions of shape ({b}, {h}, {d}) need {} values, got {len}",
            chunk
                .and_then(|c| c.checked_mul(b))
                .map_or("too many".to_string(), |t| t.to_string())
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_copies_are_copies() {
        // Every length and both alignments of the target (8- and 16-byte).
        for len in 0..40 {
            let src: Vec<f64> = (0..len).map(|i| i as f64 * 1.5 - 7.0).collect();
            for offset in 0..2 {
                let mut buffer = vec![MaybeUninit::new(f64::NAN); len + 2];
                stream_into(&src, &mut buffer[offset..offset + len]);
                // SAFETY: the whole buffer was initialized (NaN, then the copy).
                let got = unsafe { crate::dct::inverse::assume_init(&mut buffer) };
                assert_eq!(
                    &got[offset..offset + len],
                    &src[..],
                    "len {len} offset {offset}"
                );
                assert!(got[..offset]
                    .iter()
                    .chain(&got[offset + len..])
                    .all(|v| v.is_nan()));
            }
        }
    }
}
