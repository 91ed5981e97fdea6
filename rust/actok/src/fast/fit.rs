//! Fitting a FAST tokenizer to action chunks (`docs/semantics.md#fit`), in Rust.
//!
//! The recipe: DCT-II (ortho) along time, `round_half_even(c * scale)`, `min_token` from the
//! corpus, each chunk to the string `chr(q - min_token)`, GPT-2 pre-tokenization and byte-level
//! mapping (the encoder's own code), then BPE training ([`crate::bpe::trainer`]) that reproduces
//! `tokenizers`' `BpeTrainer` merge for merge. With the lossless alphabet the fit can also choose
//! `min_token` ([`Placement`], `fast/placement.rs`) and the scale for a target RMSE
//! (`fast/scale_search.rs`) by fitting candidates on the first 80% of the chunks and counting
//! their tokens on the last 20% (`fast/split.rs`).
//!
//! When placement trials or a scale sweep will read the corpus again, the quantized coefficients
//! of the chunks they read (their training and validation chunks) are kept as `i16` after the
//! range pass (half the size of `f32` input; if one does not fit, the chunks are transformed
//! again instead). A fit that reads each chunk only twice (the reference alphabet, a fixed
//! placement, too few chunks to compare placements) transforms them again instead of keeping
//! that copy, and the final fit drops the copy before its pieces pass (transforming those chunks
//! again costs less than a placement trial), so its peak is the input plus the distinct pieces'
//! symbols.

use std::ops::Range;

use crate::bpe::bytelevel::{push_utf8, BYTE_TO_CHAR};
use crate::bpe::trainer::{self, piece_hash, TrainConfig, WordSet};
use crate::bpe::{Bpe, BpeScratch};
use crate::error::{Error, Place, Quantity, Result};
use crate::fast::code::CoefficientCode;
use crate::fast::fit_report::{FitReport, PlacementReport, PlacementTrial, FIT_REPORT_KEY};
use crate::fast::normalizer::Normalizer;
use crate::fast::pipeline::{ChunkBuffers, ChunkPipeline, ValueFault};
use crate::fast::placement::{self, choose_trial, mean, Candidate, Placement, Trial, MAX_CODE};
use crate::fast::scale_search;
use crate::fast::split::{Split, MIN_VALIDATION_CHUNKS};
use crate::fast::tokenizer::FastTokenizer;
use crate::format::processor_config::ProcessorConfig;
use crate::format::tokenizer_json::TokenizerSections;
use crate::options::FitAlphabet;
use crate::parallel;
use crate::sample::Sample;

/// Chunks quantized per parallel batch (bounds the memory of pieces in flight).
const BATCH: usize = 1 << 14;

/// Settings of [`FastTokenizer::fit`].
#[derive(Clone, Debug, PartialEq)]
pub struct FitOptions {
    /// Multiplier applied to DCT coefficients before rounding (finite, > 0). Ignored when
    /// `target_rmse` is set (the fit chooses it).
    pub scale: f64,
    /// Target vocabulary size (alphabet + merges).
    pub vocab_size: usize,
    /// The initial alphabet and range policy.
    pub alphabet: FitAlphabet,
    /// Pairs seen fewer times are never merged; `None` is the alphabet's default: 2 with the
    /// reference alphabet (the reference recipe's), 1 with the lossless one (on corpora too small
    /// to fill the vocabulary, merging pairs seen once spends fewer tokens on held-out chunks:
    /// 6-8% on the two smallest shared datasets, `benches/bench_placement.py --explore`).
    pub min_frequency: Option<u64>,
    /// New tokens are at most this long minus one, in characters (the reference uses 10000).
    pub max_token_length: usize,
    /// How `min_token` is chosen ([`Placement::Auto`] by default).
    pub placement: Placement,
    /// When set, the scale is chosen: the one with the fewest tokens per validation chunk among
    /// the scales of a fixed grid whose validation RMSE (normalized units) is at most this
    /// (lossless alphabet only). See `fast/scale_search.rs`.
    pub target_rmse: Option<f64>,
}

impl Default for FitOptions {
    /// The paper's defaults (scale 10, vocab 1024) with the lossless alphabet and the placement
    /// chosen from data.
    fn default() -> Self {
        Self {
            scale: 10.0,
            vocab_size: 1024,
            alphabet: FitAlphabet::Lossless,
            min_frequency: None,
            max_token_length: 10000,
            placement: Placement::Auto,
            target_rmse: None,
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
    /// Comparing placements (`done`/`total` candidates fitted and counted).
    Placement,
    /// Sweeping scales for a target RMSE (`done`/`total` scales fitted).
    Scale,
}

impl FitStage {
    /// The stage's name in progress reports (`"range"`, `"pieces"`, `"merges"`, `"placement"`,
    /// `"scale"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Range => "range",
            Self::Pieces => "pieces",
            Self::Merges => "merges",
            Self::Placement => "placement",
            Self::Scale => "scale",
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

/// Reports `(stage, done, total)`; trial fits get [`quiet`].
pub(crate) type Report<'a> = &'a dyn Fn(FitStage, usize, usize);

/// The report that reports nothing (trial fits run inside a `placement` or `scale` stage).
pub(crate) fn quiet(_: FitStage, _: usize, _: usize) {}

/// One chunk's pieces: concatenated UTF-8 bytes, end offsets and hashes.
struct Pieces {
    bytes: Vec<u8>,
    ends: Vec<u32>,
    hashes: Vec<u64>,
}

/// The chunks a fit was given: row-major `(N, H, D)` values and the normalizer applied on the way.
pub(crate) struct FitData<'a, T> {
    pub(crate) chunks: &'a [T],
    pub(crate) shape: [usize; 3],
    pub(crate) normalizer: Option<&'a Normalizer>,
}

impl<T: Sample> FitData<'_, T> {
    fn chunk_len(&self) -> usize {
        self.shape[1] * self.shape[2]
    }

    /// Chunk `b`'s values.
    pub(crate) fn chunk(&self, b: usize) -> &[T] {
        let len = self.chunk_len();
        &self.chunks[b * len..(b + 1) * len]
    }
}

/// Chunks whose coefficients a [`Corpus`] keeps: disjoint ranges in increasing order, their
/// chunks stored one after the other.
#[derive(Clone, Debug, Default)]
pub(crate) struct Kept(Vec<Range<usize>>);

impl Kept {
    /// The chunks of `ranges` (in any order, possibly overlapping or empty).
    pub(crate) fn of(ranges: &[Range<usize>]) -> Self {
        let mut sorted: Vec<Range<usize>> =
            ranges.iter().filter(|r| !r.is_empty()).cloned().collect();
        sorted.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(sorted.len());
        for r in sorted {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        Self(merged)
    }

    /// Where chunk `b` is among the kept chunks, if it is kept.
    pub(crate) fn position(&self, b: usize) -> Option<usize> {
        let mut before = 0;
        for r in &self.0 {
            if r.contains(&b) {
                return Some(before + b - r.start);
            }
            before += r.len();
        }
        None
    }

    /// How many chunks are kept.
    pub(crate) fn len(&self) -> usize {
        self.0.iter().map(Range::len).sum()
    }
}

/// A corpus quantized at one scale: the range of its coefficients and, when asked for and they all
/// fit, an `i16` copy of them (so later passes need not transform again).
pub(crate) struct Corpus<'a, T> {
    data: &'a FitData<'a, T>,
    pipeline: ChunkPipeline<'a>,
    scale: f64,
    /// The `i16` copy of the chunks `kept`.
    cache: Option<Vec<i16>>,
    kept: Kept,
    /// The smallest and largest quantized coefficient.
    lo: f64,
    hi: f64,
}

impl<'a, T: Sample> Corpus<'a, T> {
    /// Pass 1: quantizes every chunk at `scale`, keeping the range and the `i16` copy of the
    /// chunks `kept` (those that will be read more than once more: the trials'; may be empty).
    pub(crate) fn new(
        data: &'a FitData<'a, T>,
        scale: f64,
        kept: Kept,
        report: Report<'_>,
    ) -> Result<Self> {
        let [n, h, d] = data.shape;
        let chunk_len = data.chunk_len();
        let pipeline = ChunkPipeline::new(h, d, scale, data.normalizer)?;
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        let mut cache: Option<Vec<i16>> =
            (kept.len() > 0).then(|| Vec::with_capacity(kept.len() * chunk_len));
        for start in (0..n).step_by(BATCH) {
            let count = BATCH.min(n - start);
            let keep = cache.is_some();
            let ranges = parallel::map_init(
                count,
                parallel::min_parallel_items(chunk_len),
                ChunkBuffers::default,
                |buf, i| {
                    let b = start + i;
                    quantize(data.chunk(b), b, d, &pipeline, buf)?;
                    let (l, u) = buf
                        .coefficients
                        .iter()
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &q| {
                            (lo.min(q), hi.max(q))
                        });
                    let small = keep
                        && kept.position(b).is_some()
                        && l >= f64::from(i16::MIN)
                        && u <= f64::from(i16::MAX);
                    let q: Option<Vec<i16>> =
                        small.then(|| buf.coefficients.iter().map(|&q| q as i16).collect());
                    Ok((l, u, q))
                },
            )?;
            for (i, r) in ranges.into_iter().enumerate() {
                let (l, u, q) = r?;
                lo = lo.min(l);
                hi = hi.max(u);
                if kept.position(start + i).is_none() {
                    continue;
                }
                match (q, &mut cache) {
                    (Some(q), Some(c)) => c.extend_from_slice(&q),
                    _ => cache = None,
                }
            }
            report(FitStage::Range, start + count, n);
        }
        Ok(Self {
            data,
            pipeline,
            scale,
            cache,
            kept,
            lo,
            hi,
        })
    }

    /// Chunk `b`'s quantized coefficients into `buf.coefficients`.
    fn load(&self, b: usize, buf: &mut ChunkBuffers) -> Result<()> {
        let len = self.data.chunk_len();
        match (&self.cache, self.kept.position(b)) {
            (Some(c), Some(at)) => {
                buf.coefficients.clear();
                buf.coefficients
                    .extend(c[at * len..(at + 1) * len].iter().map(|&q| f64::from(q)));
                Ok(())
            }
            _ => quantize(
                self.data.chunk(b),
                b,
                self.data.shape[2],
                &self.pipeline,
                buf,
            ),
        }
    }

    /// `[qlo, qhi]`: the coefficients the alphabet covers (the corpus's range, widened by the
    /// lossless margin), checked against the limits of `options`.
    pub(crate) fn covered(&self, options: &FitOptions) -> Result<(i64, i64)> {
        // Only a clipping normalizer bounds what encode will ever see.
        let bound = match self.data.normalizer.and_then(Normalizer::clipped_peak) {
            Some(peak) => reachable_bound(peak, self.data.shape[1], self.scale),
            None => f64::INFINITY,
        };
        coefficient_range(self.lo, self.hi, bound, options, self.scale)
    }

    /// Pass 2 and training: a tokenizer fitted on `chunks` with `min_token`, its alphabet
    /// covering `covered`.
    pub(crate) fn fit(
        &self,
        chunks: Range<usize>,
        min_token: i64,
        covered: (i64, i64),
        options: &FitOptions,
        report: Report<'_>,
    ) -> Result<FastTokenizer> {
        let (words, alphabet) = self.words(chunks, min_token, covered, options, report)?;
        self.train(words, alphabet, min_token, options, report)
    }

    /// [`Corpus::fit`] on every chunk, the last use of the corpus: the `i16` copy is dropped
    /// first (its chunks are transformed again), so it is never in memory together with the
    /// distinct pieces or the trainer's blocks.
    pub(crate) fn fit_last(
        mut self,
        min_token: i64,
        covered: (i64, i64),
        options: &FitOptions,
        report: Report<'_>,
    ) -> Result<FastTokenizer> {
        self.cache = None;
        let all = 0..self.data.shape[0];
        let (words, alphabet) = self.words(all, min_token, covered, options, report)?;
        self.train(words, alphabet, min_token, options, report)
    }

    /// Pass 2: the distinct pieces of `chunks` with `min_token`, and the initial alphabet
    /// covering `[qlo, qhi]`.
    fn words(
        &self,
        chunks: Range<usize>,
        min_token: i64,
        (qlo, qhi): (i64, i64),
        options: &FitOptions,
        report: Report<'_>,
    ) -> Result<(WordSet, Vec<char>)> {
        let chunk_len = self.data.chunk_len();
        let code = CoefficientCode::new(min_token, self.scale);
        let (first, last) = (qlo - min_token, qhi - min_token);
        debug_assert!(
            first >= 0 && last <= MAX_CODE,
            "placements are checked first"
        );
        let initial_alphabet: Vec<char> = match options.alphabet {
            FitAlphabet::Reference => (0..=last as u32)
                .map(|cp| char::from_u32(cp).expect("below the surrogates"))
                .collect(),
            FitAlphabet::Lossless => {
                let symbols = lossless_symbols(first, last);
                if symbols.len() > options.vocab_size {
                    return Err(Error::InvalidArgument(format!(
                        "vocab_size {} is smaller than the {} byte-level symbols needed to encode \
                         every coefficient in the fitted range [{qlo}, {qhi}] (code points \
                         U+{first:04X}..U+{last:04X}); raise vocab_size or lower scale",
                        options.vocab_size,
                        symbols.len(),
                    )));
                }
                symbols
            }
        };
        let (start, n) = (chunks.start, chunks.len());
        // At most 256 characters: one byte each (FAST's coefficient ranges), not their UTF-8.
        let one_byte = (last - first < 256).then_some(first as u32);
        let mut words = match one_byte {
            Some(first) => {
                let chars: Vec<char> = (first..=last as u32)
                    .map(|cp| char::from_u32(cp).expect("below the surrogates"))
                    .collect();
                WordSet::one_byte_per_char(&chars)
            }
            None => WordSet::new(),
        };
        for from in (0..n).step_by(BATCH) {
            let count = BATCH.min(n - from);
            let pieces = parallel::map_init(
                count,
                parallel::min_parallel_items(chunk_len),
                ChunkBuffers::default,
                |buf, i| {
                    self.load(start + from + i, buf)?;
                    Ok(to_pieces(&self.pipeline, buf, code, one_byte))
                },
            )?;
            for p in pieces {
                let p: Pieces = p?;
                let mut at = 0usize;
                for (&end, &hash) in p.ends.iter().zip(&p.hashes) {
                    words.add(&p.bytes[at..end as usize], hash)?;
                    at = end as usize;
                }
            }
            report(FitStage::Pieces, from + count, n);
        }
        Ok((words, initial_alphabet))
    }

    /// Training: the tokenizer with `min_token` learned from `words`.
    fn train(
        &self,
        words: WordSet,
        initial_alphabet: Vec<char>,
        min_token: i64,
        options: &FitOptions,
        report: Report<'_>,
    ) -> Result<FastTokenizer> {
        let config = TrainConfig {
            vocab_size: options.vocab_size,
            min_frequency: options.min_frequency.unwrap_or(match options.alphabet {
                FitAlphabet::Reference => 2,
                FitAlphabet::Lossless => 1,
            }),
            max_token_length: options.max_token_length,
            initial_alphabet,
        };
        let trained = trainer::train(words, &config, &mut |done, total| {
            report(FitStage::Merges, done as usize, total as usize)
        })?;
        let (merges, merged_ids) = last_occurrences(&trained.merges, &trained.merged_ids);
        let bpe = Bpe::new(trained.tokens, merges, merged_ids, false);
        let mut config = ProcessorConfig::new(self.scale, options.vocab_size, min_token)?;
        // Decoding defaults to the shape the tokenizer was fitted on (the reference leaves these
        // null, and then every decode call must pass them).
        config.time_horizon = Some(self.data.shape[1]);
        config.action_dim = Some(self.data.shape[2]);
        Ok(FastTokenizer::new(
            config,
            bpe,
            TokenizerSections::default(),
        ))
    }

    /// Tokens of each chunk of `chunks` encoded by `tokenizer` (fitted on this corpus with an
    /// alphabet covering every chunk's coefficients).
    pub(crate) fn token_counts(
        &self,
        chunks: Range<usize>,
        tokenizer: &FastTokenizer,
    ) -> Result<Vec<u32>> {
        let code = CoefficientCode::new(tokenizer.config().min_token, self.scale);
        let bpe = tokenizer.bpe();
        let counts = parallel::map_init(
            chunks.len(),
            parallel::min_parallel_items(self.data.chunk_len()),
            || (ChunkBuffers::default(), BpeScratch::default(), Vec::new()),
            |(buf, scratch, ids), i| {
                self.load(chunks.start + i, buf)?;
                let split = self.pipeline.split(buf, |_, q| {
                    let c = char::from_u32(code.code_point(q) as u32);
                    Ok::<_, std::convert::Infallible>(c.expect("the range check keeps codes valid"))
                });
                split.unwrap_or_else(|never| match never {});
                ids.clear();
                for piece in buf.pieces() {
                    bpe.encode_chars(piece, scratch, ids);
                }
                Ok(ids.len() as u32)
            },
        )?;
        counts.into_iter().collect()
    }

    /// Fits each candidate on the split's training chunks and counts its tokens on each
    /// validation chunk, in order; candidates whose alphabet exceeds `vocab_size` are skipped.
    pub(crate) fn trials(
        &self,
        candidates: &[Candidate],
        covered: (i64, i64),
        options: &FitOptions,
        split: &Split,
        report: Report<'_>,
    ) -> Result<Vec<Trial>> {
        let mut trials = Vec::with_capacity(candidates.len());
        for (i, c) in candidates.iter().enumerate() {
            let fitted = self.fit(
                split.training.clone(),
                c.min_token,
                covered,
                options,
                &quiet,
            );
            match fitted {
                Ok(tok) => {
                    let counts = self.token_counts(split.validation.clone(), &tok)?;
                    trials.push(Trial {
                        report: PlacementTrial {
                            min_token: c.min_token,
                            label: c.label.clone(),
                            tokens_per_chunk: mean(&counts),
                        },
                        counts,
                    })
                }
                // Only the reference placement must fit; another may need too many symbols.
                Err(e) if i == 0 => return Err(e),
                Err(_) => {}
            }
            report(FitStage::Placement, i + 1, candidates.len());
        }
        Ok(trials)
    }

    /// Chooses `min_token` as `options.placement` asks, for the covered range `covered`.
    pub(crate) fn place(
        &self,
        covered: (i64, i64),
        options: &FitOptions,
        split: &Split,
        report: Report<'_>,
    ) -> Result<PlacementReport> {
        let (qlo, qhi) = covered;
        let placement = effective_placement(options)?;
        let chosen = |c: Candidate, reason: String| PlacementReport {
            requested: placement.name().into(),
            min_token: c.min_token,
            label: c.label,
            reason,
            training_chunks: 0,
            validation_chunks: 0,
            candidates: Vec::new(),
        };
        match placement {
            Placement::Reference => Ok(chosen(
                placement::reference(qlo),
                match options.alphabet {
                    FitAlphabet::Reference => "the reference alphabet's placement".into(),
                    FitAlphabet::Lossless => "requested".into(),
                },
            )),
            Placement::MinToken(m) => {
                Ok(chosen(placement::fixed(m, qlo, qhi)?, "requested".into()))
            }
            Placement::Auto if !split.held_out => Ok(chosen(
                placement::reference(qlo),
                format!(
                    "too few chunks ({}) to compare placements: the last 20% must hold at least \
                     {MIN_VALIDATION_CHUNKS} validation chunks; kept the reference placement",
                    split.training.len()
                ),
            )),
            Placement::Auto => {
                let candidates = placement::candidates(qlo, qhi);
                let trials = self.trials(&candidates, covered, options, split, report)?;
                Ok(choose_trial(trials, split))
            }
        }
    }
}

/// The placement `options` asks for, the alphabet's restrictions applied.
pub(crate) fn effective_placement(options: &FitOptions) -> Result<Placement> {
    match (options.alphabet, options.placement) {
        (FitAlphabet::Lossless, p) => Ok(p),
        (FitAlphabet::Reference, Placement::Auto | Placement::Reference) => {
            Ok(Placement::Reference)
        }
        (FitAlphabet::Reference, Placement::MinToken(m)) => Err(Error::InvalidArgument(format!(
            "placement min_token={m} needs alphabet=\"lossless\": the reference alphabet spans \
             chr(0..=max - min) from the smallest coefficient"
        ))),
    }
}

impl FastTokenizer {
    /// Fits a FAST tokenizer to `chunks`, given row-major with `shape = (N, H, D)`.
    ///
    /// With [`FitAlphabet::Reference`] the vocabulary, merges and `min_token` are identical to
    /// what the reference `fit` (the `tokenizers` `BpeTrainer`) produces on the same data, with
    /// `min_frequency` and `max_token_length` as given. With the lossless alphabet,
    /// `options.placement` chooses `min_token` and `options.target_rmse` (if set) the scale; what
    /// was chosen and why is [`FastTokenizer::fit_report`]. `progress`, if given, is called from
    /// the calling thread as the fit advances.
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

    /// What the fit that made this tokenizer chose and why (its placement and, for a target RMSE,
    /// its scale sweep), as recorded in `processor_config.json` under `"actok_fit"`; `None` for
    /// tokenizers without that record (the reference's, `alphabet="reference"` fits, or a record
    /// that does not parse).
    pub fn fit_report(&self) -> Option<FitReport> {
        let value = self.config().extra.get(FIT_REPORT_KEY)?;
        serde_json::from_value(value.clone()).ok()
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
        if chunk_len.is_none() {
            return Err(Error::InvalidArgument(format!(
                "chunks of shape ({n}, {h}, {d}) need {n}×{h}×{d} values, got {}",
                chunks.len()
            )));
        }
        effective_placement(options)?;
        let data = FitData {
            chunks,
            shape,
            normalizer,
        };
        let split = Split::of(n);
        let (scale, scale_report, placed) = match options.target_rmse {
            None => (options.scale, None, None),
            Some(target) => {
                let (scale_report, placed) =
                    scale_search::choose(&data, target, options, &split, &report)?;
                (scale_report.scale, Some(scale_report), Some(placed))
            }
        };
        // Only placement trials read chunks more than once more (a scale sweep has placed the
        // corpus already), and only theirs: the pieces pass transforms the others again.
        let trials =
            placed.is_none() && effective_placement(options)? == Placement::Auto && split.held_out;
        let kept = if trials {
            split.trial_chunks()
        } else {
            Kept::default()
        };
        let corpus = Corpus::new(&data, scale, kept, &report)?;
        let covered = corpus.covered(options)?;
        let placed = match placed {
            Some(p) => p,
            None => corpus.place(covered, options, &split, &report)?,
        };
        let mut fitted = corpus.fit_last(placed.min_token, covered, options, &report)?;
        if options.alphabet == FitAlphabet::Lossless {
            let record = FitReport {
                placement: placed,
                scale: scale_report,
            };
            let value = serde_json::to_value(record).expect("a report serializes");
            fitted
                .config_extra_mut()
                .insert(FIT_REPORT_KEY.into(), value);
        }
        Ok(fitted)
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
    if let Some(target) = options.target_rmse {
        if !(target.is_finite() && target > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "target_rmse must be a finite number > 0, got {target}"
            )));
        }
        if options.alphabet == FitAlphabet::Reference {
            return Err(Error::InvalidArgument(
                "target_rmse needs alphabet=\"lossless\": with the reference alphabet some \
                 coefficients may not encode, so the RMSE is not the quantization's"
                    .into(),
            ));
        }
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

/// The largest quantized coefficient magnitude any chunk of `horizon` steps whose values all lie
/// within `[-peak, peak]` can produce at `scale`: `|Σ_t C[k][t]·x[t]| ≤ peak·Σ_t |C[k][t]| ≤
/// peak·√horizon` for every row `k` of the orthonormal DCT matrix (Cauchy–Schwarz; equality for
/// `k = 0` and a constant chunk at `±peak`), so `round(scale·c) ≤ ⌈scale·peak·√horizon⌉`.
fn reachable_bound(peak: f64, horizon: usize, scale: f64) -> f64 {
    (scale * peak * (horizon as f64).sqrt()).ceil()
}

/// `[qlo, qhi]`: the coefficients the alphabet covers for the corpus range `[lo, hi]` (the
/// lossless alphabet widens it by its margin, but not beyond `±bound`, the largest coefficient
/// encode can ever meet: infinite unless a clipping normalizer bounds every value, to `[-1, 1]`
/// for the usual ones), checked against the limits.
///
/// The margin is there for new chunks slightly beyond the training's coefficients. Clipped data
/// often reaches the bound itself (a gripper or a joint held at the clip limit for a whole chunk
/// is a constant chunk at ±1, the largest DC coefficient there is), and alphabet entries beyond
/// it could never be used: each would cost the vocabulary one merge (DROID joint positions: 16,
/// 0.5% of held-out tokens).
fn coefficient_range(
    lo: f64,
    hi: f64,
    bound: f64,
    options: &FitOptions,
    scale: f64,
) -> Result<(i64, i64)> {
    let span = hi - lo;
    let (below, above) = match options.alphabet {
        FitAlphabet::Reference => (0.0, 0.0),
        FitAlphabet::Lossless => {
            let margin = (span / 10.0).ceil().max(1.0);
            // `lo ≥ -bound` and `hi ≤ bound` in exact arithmetic; `max(0.0)` keeps the corpus's
            // own range whatever the rounding.
            (
                margin.min(lo + bound).max(0.0),
                margin.min(bound - hi).max(0.0),
            )
        }
    };
    let width = span + below + above;
    if width > MAX_CODE as f64 {
        return Err(Error::InvalidArgument(format!(
            "the quantized coefficients span [{}, {}]; with {} this needs {width} characters, \
             more than the {MAX_CODE} below the surrogates (are the actions normalized, e.g. to \
             [-1, 1]? is scale {scale} too large?)",
            lo + 0.0,
            hi + 0.0,
            match options.alphabet {
                FitAlphabet::Reference => "no margin".to_string(),
                FitAlphabet::Lossless => format!("margins of {below} below and {above} above"),
            },
        )));
    }
    let min_token = lo - below;
    if min_token.abs() > crate::format::processor_config::MAX_ABS_MIN_TOKEN as f64 {
        return Err(Error::InvalidArgument(format!(
            "the quantized coefficients start at {lo:e}: min_token would be beyond ±2^52 (are the \
             actions normalized, e.g. to [-1, 1]? is scale {scale} too large?)",
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
    Ok((min_token, min_token + range))
}

/// The byte-level symbols of every byte in the UTF-8 of `chr(first..=last)`, sorted.
fn lossless_symbols(first: i64, last: i64) -> Vec<char> {
    let mut needed = [false; 256];
    for cp in first as u32..=last as u32 {
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
pub(crate) fn quantize<T: Sample>(
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

/// The GPT-2 pieces of the chunk in `buf.coefficients`, as UTF-8 bytes, or with `one_byte` one
/// byte per character: its code point minus `one_byte`.
fn to_pieces(
    pipeline: &ChunkPipeline<'_>,
    buf: &mut ChunkBuffers,
    code: CoefficientCode,
    one_byte: Option<u32>,
) -> Pieces {
    let split = pipeline.split(buf, |_, q| {
        let c = char::from_u32(code.code_point(q) as u32);
        Ok::<_, std::convert::Infallible>(c.expect("the range check keeps codes valid"))
    });
    split.unwrap_or_else(|never| match never {});
    let mut pieces = Pieces {
        bytes: Vec::with_capacity(buf.chars.len() * if one_byte.is_some() { 1 } else { 2 }),
        ends: Vec::with_capacity(buf.piece_count()),
        hashes: Vec::with_capacity(buf.piece_count()),
    };
    for piece in buf.pieces() {
        let from = pieces.bytes.len();
        match one_byte {
            Some(first) => pieces
                .bytes
                .extend(piece.iter().map(|&ch| (ch as u32 - first) as u8)),
            None => {
                for &ch in piece {
                    push_utf8(&mut pieces.bytes, ch);
                }
            }
        }
        pieces.hashes.push(piece_hash(&pieces.bytes[from..]));
        pieces.ends.push(pieces.bytes.len() as u32);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(alphabet: FitAlphabet) -> FitOptions {
        FitOptions {
            alphabet,
            ..FitOptions::default()
        }
    }

    #[test]
    fn the_margin_stops_at_the_bound_a_clipping_normalizer_sets() {
        let lossless = options(FitAlphabet::Lossless);
        let unbounded = f64::INFINITY;
        // margin = ceil(78 / 10) = 8 on each side.
        assert_eq!(
            coefficient_range(-39.0, 39.0, unbounded, &lossless, 10.0).unwrap(),
            (-47, 47)
        );
        // A constant chunk at ±1 of 15 steps reaches ceil(10·√15) = 39: nothing beyond.
        let bound = reachable_bound(1.0, 15, 10.0);
        assert_eq!(bound, 39.0);
        assert_eq!(
            coefficient_range(-39.0, 39.0, bound, &lossless, 10.0).unwrap(),
            (-39, 39)
        );
        // Each side is cut only as far as the bound: margin 7, 6 left below, 7 above.
        assert_eq!(
            coefficient_range(-39.0, 30.0, 45.0, &lossless, 10.0).unwrap(),
            (-45, 37)
        );
        // Rounding that puts an extreme past the bound never cuts into the corpus's range.
        assert_eq!(
            coefficient_range(-40.0, 39.0, bound, &lossless, 10.0).unwrap(),
            (-40, 39)
        );
        // The reference alphabet has no margin to cut.
        let reference = options(FitAlphabet::Reference);
        assert_eq!(
            coefficient_range(-39.0, 30.0, 45.0, &reference, 10.0).unwrap(),
            (-39, 30)
        );
    }
}
