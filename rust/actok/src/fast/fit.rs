//! Fitting a FAST tokenizer to action chunks (`docs/semantics.md#fit`), in Rust.
//!
//! The recipe: DCT-II (ortho) along time, `round_half_even(c * scale)`, `min_token` from the
//! corpus, each chunk to the string `chr(q - min_token)`, GPT-2 pre-tokenization and byte-level
//! mapping (the encoder's own code), then BPE training ([`crate::bpe::trainer`]) that reproduces
//! `tokenizers`' `BpeTrainer` merge for merge.
//!
//! The quantized coefficients are kept as `i16` between the range pass and the pieces pass (half
//! the size of `f32` input; if one does not fit, the chunks are transformed again instead), so
//! memory is the input, that copy, and the distinct pieces' symbols.

use crate::bpe::bytelevel::{push_utf8, BYTE_TO_CHAR};
use crate::bpe::trainer::{self, piece_hash, TrainConfig, WordSet};
use crate::bpe::Bpe;
use crate::error::{Error, Place, Quantity, Result};
use crate::fast::code::CoefficientCode;
use crate::fast::normalizer::Normalizer;
use crate::fast::pipeline::{ChunkBuffers, ChunkPipeline, ValueFault};
use crate::fast::tokenizer::FastTokenizer;
use crate::format::processor_config::ProcessorConfig;
use crate::format::tokenizer_json::TokenizerSections;
use crate::options::FitAlphabet;
use crate::parallel;
use crate::sample::Sample;

/// Code points from U+D800 on include surrogates, which no string can hold.
const MAX_RANGE: i64 = 0xD7FF;

/// Chunks quantized per parallel batch (bounds the memory of pieces in flight).
const BATCH: usize = 1 << 14;

/// Settings of [`FastTokenizer::fit`].
#[derive(Clone, Debug, PartialEq)]
pub struct FitOptions {
    /// Multiplier applied to DCT coefficients before rounding (finite, > 0).
    pub scale: f64,
    /// Target vocabulary size (alphabet + merges).
    pub vocab_size: usize,
    /// The initial alphabet and range policy.
    pub alphabet: FitAlphabet,
    /// Pairs seen fewer times are never merged (the reference uses 2).
    pub min_frequency: u64,
    /// New tokens are at most this long minus one, in characters (the reference uses 10000).
    pub max_token_length: usize,
}

impl Default for FitOptions {
    /// The paper's defaults (scale 10, vocab 1024) with the lossless alphabet.
    fn default() -> Self {
        Self {
            scale: 10.0,
            vocab_size: 1024,
            alphabet: FitAlphabet::Lossless,
            min_frequency: 2,
            max_token_length: 10000,
        }
    }
}

/// Which part of a fit is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FitStage {
    /// Transforming chunks to find the coefficient range (`done`/`total` chunks).
    Range,
    /// Transforming chunks into pre-tokenized pieces (`done`/`total` chunks).
    Pieces,
    /// Learning merges (`done` merges of at most about `total`).
    Merges,
}

impl FitStage {
    /// The stage's name in progress reports (`"range"`, `"pieces"`, `"merges"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Range => "range",
            Self::Pieces => "pieces",
            Self::Merges => "merges",
        }
    }
}

/// A progress report from [`FastTokenizer::fit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FitProgress {
    /// The running stage.
    pub stage: FitStage,
    /// Units done in this stage.
    pub done: u64,
    /// Units in this stage.
    pub total: u64,
}

/// Progress callback type accepted by [`FastTokenizer::fit`].
pub type ProgressFn<'a> = &'a (dyn Fn(FitProgress) + Sync);

/// One chunk's pieces: concatenated UTF-8 bytes, end offsets and hashes.
struct Pieces {
    bytes: Vec<u8>,
    ends: Vec<u32>,
    hashes: Vec<u64>,
}

impl FastTokenizer {
    /// Fits a FAST tokenizer to `chunks`, given row-major with `shape = (N, H, D)`.
    ///
    /// With [`FitAlphabet::Reference`] the vocabulary, merges and `min_token` are identical to
    /// what the reference `fit` (the `tokenizers` `BpeTrainer`) produces on the same data, with
    /// `min_frequency` and `max_token_length` as given. `progress`, if given, is called from the
    /// calling thread as the fit advances.
    ///
    /// Errors name what is wrong: an empty corpus or zero `H`/`D`, a non-finite value (with its
    /// chunk and index), a bad `scale`, a coefficient range too wide for characters, or a
    /// `vocab_size` too small for the alphabet.
    pub fn fit<T: Sample>(
        chunks: &[T],
        shape: [usize; 3],
        options: &FitOptions,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<Self> {
        Self::fit_chunks(chunks, shape, options, None, progress)
    }

    /// [`FastTokenizer::fit`] to raw `chunks`, normalized by `normalizer` on the way exactly as
    /// [`FastTokenizer::encode`] normalizes them (per value, in `f64`, before the DCT); the
    /// result carries `normalizer`, so it encodes raw actions and decodes to raw actions.
    pub fn fit_normalized<T: Sample>(
        chunks: &[T],
        shape: [usize; 3],
        options: &FitOptions,
        normalizer: &Normalizer,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<Self> {
        if normalizer.dim() != shape[2] {
            return Err(Error::InvalidArgument(format!(
                "chunks have {} dimensions but the normalizer was fitted to {}",
                shape[2],
                normalizer.dim()
            )));
        }
        let fitted = Self::fit_chunks(chunks, shape, options, Some(normalizer), progress)?;
        Ok(fitted.with_normalizer(Some(normalizer.clone())))
    }

    fn fit_chunks<T: Sample>(
        chunks: &[T],
        shape: [usize; 3],
        options: &FitOptions,
        normalizer: Option<&Normalizer>,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<Self> {
        let report = |stage, done: usize, total: usize| {
            if let Some(f) = progress {
                f(FitProgress {
                    stage,
                    done: done as u64,
                    total: total as u64,
                });
            }
        };
        let [n, h, d] = shape;
        check_options(options)?;
        if n == 0 {
            return Err(Error::InvalidArgument(
                "cannot fit a tokenizer to an empty corpus (0 chunks)".into(),
            ));
        }
        if h == 0 || d == 0 {
            return Err(Error::InvalidArgument(format!(
                "chunks of shape ({h}, {d}) are empty: time horizon and action dimension must \
                 both be at least 1"
            )));
        }
        let chunk_len = h
            .checked_mul(d)
            .filter(|c| c.checked_mul(n) == Some(chunks.len()));
        let Some(chunk_len) = chunk_len else {
            return Err(Error::InvalidArgument(format!(
                "chunks of shape ({n}, {h}, {d}) need {n}×{h}×{d} values, got {}",
                chunks.len()
            )));
        };
        let pipeline = ChunkPipeline::new(h, d, options.scale, normalizer)?;
        let scale = options.scale;
        let chunk = |b: usize| &chunks[b * chunk_len..(b + 1) * chunk_len];

        // Pass 1: the range of quantized coefficients. They are kept as `i16` (half the size of
        // f32 input) when they all fit, so that pass 2 need not transform again.
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        let mut cache: Option<Vec<i16>> = Some(Vec::with_capacity(chunks.len()));
        for start in (0..n).step_by(BATCH) {
            let count = BATCH.min(n - start);
            let keep = cache.is_some();
            let ranges = parallel::map_init(
                count,
                parallel::min_parallel_items(chunk_len),
                ChunkBuffers::default,
                |buf, i| {
                    let b = start + i;
                    quantize(chunk(b), b, d, &pipeline, buf)?;
                    let (l, u) = buf
                        .coefficients
                        .iter()
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &q| {
                            (lo.min(q), hi.max(q))
                        });
                    let small = keep && l >= f64::from(i16::MIN) && u <= f64::from(i16::MAX);
                    let q: Option<Vec<i16>> =
                        small.then(|| buf.coefficients.iter().map(|&q| q as i16).collect());
                    Ok((l, u, q))
                },
            )?;
            for r in ranges {
                let (l, u, q) = r?;
                lo = lo.min(l);
                hi = hi.max(u);
                match (q, &mut cache) {
                    (Some(q), Some(c)) => c.extend_from_slice(&q),
                    _ => cache = None,
                }
            }
            report(FitStage::Range, start + count, n);
        }
        let (min_token, range) = coefficient_range(lo, hi, options)?;

        // Pass 2: pieces, deduplicated with counts.
        let mut words = WordSet::new();
        for start in (0..n).step_by(BATCH) {
            let count = BATCH.min(n - start);
            let pieces = parallel::map_init(
                count,
                parallel::min_parallel_items(chunk_len),
                ChunkBuffers::default,
                |buf, i| {
                    let b = start + i;
                    match &cache {
                        Some(c) => {
                            buf.coefficients.clear();
                            buf.coefficients.extend(
                                c[b * chunk_len..(b + 1) * chunk_len]
                                    .iter()
                                    .map(|&q| f64::from(q)),
                            );
                        }
                        None => quantize(chunk(b), b, d, &pipeline, buf)?,
                    }
                    Ok(to_pieces(
                        &pipeline,
                        buf,
                        CoefficientCode::new(min_token, scale),
                    ))
                },
            )?;
            for p in pieces {
                let p: Pieces = p?;
                let mut from = 0usize;
                for (&end, &hash) in p.ends.iter().zip(&p.hashes) {
                    words.add(&p.bytes[from..end as usize], hash)?;
                    from = end as usize;
                }
            }
            report(FitStage::Pieces, start + count, n);
        }
        drop(cache);

        let initial_alphabet: Vec<char> = match options.alphabet {
            FitAlphabet::Reference => (0..=range as u32)
                .map(|cp| char::from_u32(cp).expect("below the surrogates"))
                .collect(),
            FitAlphabet::Lossless => {
                let symbols = lossless_symbols(range);
                if symbols.len() > options.vocab_size {
                    return Err(Error::InvalidArgument(format!(
                        "vocab_size {} is smaller than the {} byte-level symbols needed to encode \
                         every coefficient in the fitted range [{min_token}, {}]; raise \
                         vocab_size or lower scale",
                        options.vocab_size,
                        symbols.len(),
                        min_token + range
                    )));
                }
                symbols
            }
        };
        let config = TrainConfig {
            vocab_size: options.vocab_size,
            min_frequency: options.min_frequency,
            max_token_length: options.max_token_length,
            initial_alphabet,
        };
        let trained = trainer::train(words, &config, &mut |done, total| {
            report(FitStage::Merges, done as usize, total as usize)
        })?;
        let (merges, merged_ids) = last_occurrences(&trained.merges, &trained.merged_ids);
        let bpe = Bpe::new(trained.tokens, merges, merged_ids, false);
        let mut config = ProcessorConfig::new(scale, options.vocab_size, min_token)?;
        // Decoding defaults to the shape the tokenizer was fitted on (the reference leaves these
        // null, and then every decode call must pass them).
        config.time_horizon = Some(shape[1]);
        config.action_dim = Some(shape[2]);
        Ok(Self::new(config, bpe, TokenizerSections::default()))
    }
}

/// The merges with every repeated pair kept only at its last position.
///
/// The trainer can record a pair twice (see [`crate::bpe::trainer`]); `tokenizers` keeps merges in a
/// map where the later rank wins, and writes them in rank order, so its `tokenizer.json` lists
/// each pair once, at its last position. Encoding is unchanged: a later entry wins anyway.
fn last_occurrences(merges: &[(u32, u32)], merged_ids: &[u32]) -> (Vec<(u32, u32)>, Vec<u32>) {
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<((u32, u32), u32)> = merges
        .iter()
        .zip(merged_ids)
        .rev()
        .filter(|(pair, _)| seen.insert(**pair))
        .map(|(&pair, &id)| (pair, id))
        .collect();
    kept.reverse();
    kept.into_iter().unzip()
}

fn check_options(options: &FitOptions) -> Result<()> {
    if !(options.scale.is_finite() && options.scale > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "scale must be a finite number > 0, got {}",
            options.scale
        )));
    }
    if options.vocab_size == 0 {
        return Err(Error::InvalidArgument(
            "vocab_size must be an int >= 1, got 0".into(),
        ));
    }
    if options.vocab_size >= (u32::MAX / 2) as usize {
        return Err(Error::InvalidArgument(format!(
            "vocab_size {} is too large",
            options.vocab_size
        )));
    }
    Ok(())
}

/// `min_token` and `R` (the alphabet spans `chr(0..=R)`) for the corpus range `[lo, hi]`.
fn coefficient_range(lo: f64, hi: f64, options: &FitOptions) -> Result<(i64, i64)> {
    let span = hi - lo;
    let margin = match options.alphabet {
        FitAlphabet::Reference => 0.0,
        FitAlphabet::Lossless => (span / 10.0).ceil().max(1.0),
    };
    let width = span + 2.0 * margin;
    if width > MAX_RANGE as f64 {
        return Err(Error::InvalidArgument(format!(
            "the quantized coefficients span [{}, {}]; with {} this needs {width} characters, \
             more than the {MAX_RANGE} below the surrogates (are the actions normalized, e.g. to \
             [-1, 1]? is scale {} too large?)",
            lo + 0.0,
            hi + 0.0,
            match options.alphabet {
                FitAlphabet::Reference => "no margin".to_string(),
                FitAlphabet::Lossless => format!("a margin of {margin} on each side"),
            },
            options.scale
        )));
    }
    let min_token = lo - margin;
    if min_token.abs() > crate::format::processor_config::MAX_ABS_MIN_TOKEN as f64 {
        return Err(Error::InvalidArgument(format!(
            "the quantized coefficients start at {lo:e}: min_token would be beyond ±2^52 (are the \
             actions normalized, e.g. to [-1, 1]? is scale {} too large?)",
            options.scale
        )));
    }
    let min_token = min_token as i64;
    let range = width as i64;
    if options.alphabet == FitAlphabet::Reference && range > options.vocab_size as i64 {
        return Err(Error::InvalidArgument(format!(
            "vocab_size {} is too small for the range of tokens {range} (max_token {hi} - \
             min_token {lo}); the reference recipe needs max_token - min_token <= vocab_size",
            options.vocab_size
        )));
    }
    Ok((min_token, range))
}

/// The byte-level symbols of every byte in the UTF-8 of `chr(0..=range)`, sorted.
fn lossless_symbols(range: i64) -> Vec<char> {
    let mut needed = [false; 256];
    for cp in 0..=range as u32 {
        let c = char::from_u32(cp).expect("below the surrogates");
        let mut buf = [0u8; 4];
        for &b in c.encode_utf8(&mut buf).as_bytes() {
            needed[b as usize] = true;
        }
    }
    let mut symbols: Vec<char> = (0..256)
        .filter(|&b| needed[b])
        .map(|b| BYTE_TO_CHAR[b])
        .collect();
    symbols.sort_unstable();
    symbols
}

/// DCT and round one chunk into `buf.coefficients`; errors name chunk `index` and the position.
fn quantize<T: Sample>(
    chunk: &[T],
    index: usize,
    dim: usize,
    pipeline: &ChunkPipeline<'_>,
    buf: &mut ChunkBuffers,
) -> Result<()> {
    let not_finite = |at: usize, quantity: Quantity, value: f64| Error::NotFinite {
        context: "cannot fit tokenizer",
        quantity,
        place: Place::Flattened {
            chunk: index,
            of: "the training chunks",
            index: at,
            step: at / dim,
            dimension: at % dim,
        },
        value,
    };
    match pipeline.quantize(chunk, buf) {
        Ok(()) => {}
        Err(ValueFault::NotFinite { at, value }) => {
            return Err(not_finite(at, Quantity::Value, value))
        }
        Err(ValueFault::OutOfRange { at, value, issue }) => {
            return Err(Error::OutOfRange {
                context: "cannot fit tokenizer",
                place: Place::Chunk {
                    chunk: index,
                    step: at / dim,
                    dimension: at % dim,
                },
                value,
                issue,
            })
        }
    }
    if let Some(at) = buf.coefficients.iter().position(|q| !q.is_finite()) {
        return Err(not_finite(at, Quantity::Coefficient, buf.coefficients[at]));
    }
    Ok(())
}

/// The GPT-2 pieces of the chunk in `buf.coefficients`, as UTF-8 bytes.
fn to_pieces(
    pipeline: &ChunkPipeline<'_>,
    buf: &mut ChunkBuffers,
    code: CoefficientCode,
) -> Pieces {
    let split = pipeline.split(buf, |_, q| {
        let c = char::from_u32(code.code_point(q) as u32);
        Ok::<_, std::convert::Infallible>(c.expect("the range check keeps codes valid"))
    });
    split.unwrap_or_else(|never| match never {});
    let mut pieces = Pieces {
        bytes: Vec::with_capacity(buf.chars.len() * 2),
        ends: Vec::with_capacity(buf.piece_count()),
        hashes: Vec::with_capacity(buf.piece_count()),
    };
    for piece in buf.pieces() {
        let from = pieces.bytes.len();
        for &ch in piece {
            push_utf8(&mut pieces.bytes, ch);
        }
        pieces.hashes.push(piece_hash(&pieces.bytes[from..]));
        pieces.ends.push(pieces.bytes.len() as u32);
    }
    pieces
}
