//! A byte-level BPE trainer that reproduces the `tokenizers` 0.23 `BpeTrainer` merge for merge
//! (`docs/semantics.md#trainer`), on compact integer symbols.
//!
//! The library keeps every word as a vector of 32-byte symbols and every pair's word set as a
//! `HashSet<usize>`; this trainer keeps a word as ids in a flat per-block array that merges
//! compact in place (one byte per symbol, in the word set's own bytes, while every id fits in a
//! byte; then `u16`, or `u32` for huge vocabularies; a block is packed and shrunk once half of it
//! is gaps), builds the initial pair → words index as a flat CSR array of varint gaps per block,
//! and stores the word lists of queued pairs the same way, so memory stays proportional to the
//! corpus's symbol count (FAST chunks give long words: 1M chunks of 50×14 are 686M symbols in 2.8M
//! distinct words). Words of at most 256 distinct characters are collected one byte per
//! character and expanded to UTF-8 block by block, each block merged right away with the first
//! merge (known from the initial counts alone): with two-byte characters the expanded words of
//! the whole corpus are never in memory at once. Pairs are counted, and merges applied, in
//! parallel over blocks on actok's pool.
//!
//! What decides the exact vocabulary and merges, and is therefore reproduced literally:
//! - ids: the alphabet (initial alphabet ∪ every symbol seen) sorted by code point, then one id per
//!   new token string in merge order;
//! - a max-heap of `(count, pair, words)` entries ordered by count, then by the smallest pair; a
//!   popped entry whose count is stale is re-pushed with the current count (keeping its words);
//! - a valid entry merges its pair *only in the words it records*, and the merge is recorded even
//!   when the concatenated string already exists (its id is reused, the vocabulary does not grow);
//! - replacement is left to right without overlap, and each replacement reports `-1` for the
//!   neighbouring pairs it destroys and `+1` for those it creates, the latter only when the new
//!   token's length plus the neighbour's length (in characters) is below `max_token_length`;
//!   the merged pair's own count is not decremented;
//! - after each merge, every pair that gained occurrences is pushed once, with its current total
//!   count and the words where it gained them (in increasing pair order: the library uses hash map
//!   order, which can only matter for two entries of the same pair and count);
//! - training stops when the vocabulary reaches `vocab_size`, the heap is empty, or the best valid
//!   count is below 1 or below `min_frequency`.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hasher;

use rustc_hash::{FxHashMap, FxHasher};

use crate::bpe::bytelevel::BYTE_TO_CHAR;
use crate::error::{Error, Result};
use crate::parallel;
use crate::release_memory::release_free_memory;

/// Symbols per block of words (blocks are the unit of parallel work).
const BLOCK_SYMBOLS: usize = 1 << 22;

/// Blocks expanded (see [`WordSet::one_byte_per_char`]) between two returns of free memory.
const EXPAND_GROUP: usize = 8;

/// The trainer's maps are keyed by its own integers (packed pairs, piece hashes).
type FastMap<K, V> = FxHashMap<K, V>;

/// A pair of ids packed as `left << 32 | right`: the packed order is the `(left, right)` order.
#[inline]
fn pack(left: u32, right: u32) -> u64 {
    u64::from(left) << 32 | u64::from(right)
}

#[inline]
fn unpack(pair: u64) -> (u32, u32) {
    ((pair >> 32) as u32, pair as u32)
}

/// A 64-bit hash of a piece's bytes (collisions are resolved by comparing bytes).
pub(crate) fn piece_hash(bytes: &[u8]) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

/// The training words: distinct pre-tokenized pieces (as raw bytes) with their counts.
///
/// The bytes are kept in segments of at most `block_symbols` bytes (or one longer word), which
/// become the trainer's blocks: each segment is freed as soon as its block holds the symbols, so
/// the raw bytes and the blocks' symbols are never all in memory together.
///
/// A set made by [`WordSet::one_byte_per_char`] stores each character as one byte, its index in
/// a table of at most 256 characters, instead of its UTF-8: half the memory when the characters
/// take two UTF-8 bytes (FAST placements on letters from U+0080). The trainer expands a block's
/// words to UTF-8 only when it indexes them, and applies the first merge to the block right then
/// (see [`train`]).
pub(crate) struct WordSet {
    /// With one byte per character, the UTF-8 of each byte's character; `None` for UTF-8 words.
    char_utf8: Option<Vec<Vec<u8>>>,
    /// Words' bytes, segment by segment (words never straddle two segments).
    segments: Vec<Vec<u8>>,
    /// Index of the first word of each segment.
    segment_first: Vec<u32>,
    /// Where each word starts in its segment.
    starts: Vec<u32>,
    counts: Vec<u64>,
    /// First word with each hash.
    by_hash: FastMap<u64, u32>,
    /// Words whose hash collides with a different word's.
    collisions: HashMap<Vec<u8>, u32>,
    /// Which bytes (or characters' bytes, with one byte per character) occur in any word.
    seen: [bool; 256],
    /// Bytes per segment (a word longer than this gets a segment of its own).
    block_symbols: usize,
}

impl WordSet {
    /// An empty set of words given as UTF-8.
    pub(crate) fn new() -> Self {
        Self::with_block_symbols(BLOCK_SYMBOLS, None)
    }

    /// An empty set of words given one byte per character: byte `i` stands for `chars[i]` (at
    /// most 256 characters).
    pub(crate) fn one_byte_per_char(chars: &[char]) -> Self {
        Self::with_block_symbols(BLOCK_SYMBOLS, Some(chars))
    }

    /// An empty set whose segments (the trainer's blocks) hold at most `block_symbols` bytes,
    /// storing one byte per character of `chars` if given.
    fn with_block_symbols(block_symbols: usize, chars: Option<&[char]>) -> Self {
        debug_assert!(chars.map_or(true, |c| c.len() <= 256));
        Self {
            char_utf8: chars.map(|chars| {
                chars
                    .iter()
                    .map(|c| c.encode_utf8(&mut [0u8; 4]).as_bytes().to_vec())
                    .collect()
            }),
            segments: Vec::new(),
            segment_first: Vec::new(),
            starts: Vec::new(),
            counts: Vec::new(),
            by_hash: FastMap::default(),
            collisions: HashMap::new(),
            seen: [false; 256],
            block_symbols,
        }
    }

    fn word(&self, w: usize) -> &[u8] {
        let s = self.segment_first.partition_point(|&f| f as usize <= w) - 1;
        let segment = &self.segments[s];
        let start = self.starts[w] as usize;
        // Words are non-empty, so the next word starts later exactly when it is in this segment.
        let end = match self.starts.get(w + 1) {
            Some(&next) if next as usize > start => next as usize,
            _ => segment.len(),
        };
        &segment[start..end]
    }

    /// Counts one occurrence of `piece` (non-empty), whose [`piece_hash`] is `hash`.
    pub(crate) fn add(&mut self, piece: &[u8], hash: u64) -> Result<()> {
        if let Some(&w) = self.by_hash.get(&hash) {
            if self.word(w as usize) == piece {
                self.counts[w as usize] += 1;
                return Ok(());
            }
            if let Some(&w) = self.collisions.get(piece) {
                self.counts[w as usize] += 1;
                return Ok(());
            }
            let w = self.push(piece)?;
            self.collisions.insert(piece.to_vec(), w);
            return Ok(());
        }
        let w = self.push(piece)?;
        self.by_hash.insert(hash, w);
        Ok(())
    }

    /// Which UTF-8 bytes occur in any word.
    fn utf8_seen(&self) -> [bool; 256] {
        let Some(table) = &self.char_utf8 else {
            return self.seen;
        };
        let mut seen = [false; 256];
        for (utf8, _) in table.iter().zip(&self.seen).filter(|(_, &s)| s) {
            for &b in utf8 {
                seen[b as usize] = true;
            }
        }
        seen
    }

    fn push(&mut self, piece: &[u8]) -> Result<u32> {
        let w = u32::try_from(self.counts.len())
            .ok()
            .filter(|&w| w < u32::MAX)
            .ok_or_else(|| {
                Error::InvalidArgument("more than 4294967294 distinct training pieces".into())
            })?;
        for &b in piece {
            self.seen[b as usize] = true;
        }
        let full = match self.segments.last() {
            Some(last) => !last.is_empty() && last.len() + piece.len() > self.block_symbols,
            None => true,
        };
        if full {
            // Later segments fill up: allocate them whole rather than doubling into them.
            let capacity = if self.segments.is_empty() {
                0
            } else {
                self.block_symbols
            };
            self.segments.push(Vec::with_capacity(capacity));
            self.segment_first.push(w);
        }
        let segment = self.segments.last_mut().expect("pushed above");
        // Expanded to UTF-8, a segment must still be addressable by `u32` offsets.
        let widest = if self.char_utf8.is_some() { 4 } else { 1 };
        let start = u32::try_from(segment.len())
            .ok()
            .filter(|_| u32::try_from((segment.len() + piece.len()) * widest).is_ok())
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "a training piece longer than {} bytes",
                    u32::MAX as usize / widest
                ))
            })?;
        self.starts.push(start);
        segment.extend_from_slice(piece);
        self.counts.push(1);
        Ok(w)
    }
}

/// Trainer settings (`BpeTrainer` arguments; no special tokens, prefixes or suffixes).
#[derive(Clone, Debug)]
pub(crate) struct TrainConfig {
    /// Stop once the vocabulary has this many tokens.
    pub vocab_size: usize,
    /// Pairs seen fewer times than this are never merged.
    pub min_frequency: u64,
    /// A new pair is counted only if its merged length in characters is below this.
    pub max_token_length: usize,
    /// Characters that are always in the vocabulary.
    pub initial_alphabet: Vec<char>,
}

/// The trained model: tokens by id and merges in rank order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Trained {
    pub tokens: Vec<String>,
    pub merges: Vec<(u32, u32)>,
    pub merged_ids: Vec<u32>,
}

/// Where a heap entry's pair is to be merged.
#[derive(Debug)]
enum Pos {
    /// Every word that contained the pair before training (the blocks' initial index).
    Initial,
    /// These words (sorted, distinct global indices).
    Words(WordList),
}

/// A sorted list of distinct word indices, stored as LEB128 varints of the gaps between them.
///
/// Entries that are never merged keep their lists in the queue until training ends; on long
/// words (FAST chunks of letters) those lists held more memory than the words themselves. The
/// gaps of a sorted list are mostly small: one or two bytes per word instead of four.
#[derive(Debug)]
struct WordList(Box<[u8]>);

impl WordList {
    /// The list of `words` (sorted and distinct).
    fn encode(words: &[u32]) -> Self {
        let mut bytes = Vec::with_capacity(words.len() + 4);
        let mut prev = 0u32;
        for &w in words {
            debug_assert!(w >= prev, "sorted");
            let gap = w - prev;
            prev = w;
            let at = bytes.len();
            bytes.resize(at + gap_len(gap), 0);
            write_gap(&mut bytes[at..], gap);
        }
        Self(bytes.into_boxed_slice())
    }

    /// The words, into `out` (cleared first).
    fn decode_into(&self, out: &mut Vec<u32>) {
        decode_gaps(&self.0, out);
    }
}

/// Bytes of `gap` as a LEB128 varint.
#[inline]
fn gap_len(gap: u32) -> usize {
    (32 - gap.leading_zeros() as usize).max(1).div_ceil(7)
}

/// Writes `gap` as a LEB128 varint at the start of `out` (at least [`gap_len`] bytes).
#[inline]
fn write_gap(out: &mut [u8], mut gap: u32) {
    let mut i = 0;
    while gap >= 0x80 {
        out[i] = (gap as u8) | 0x80;
        gap >>= 7;
        i += 1;
    }
    out[i] = gap as u8;
}

/// The sorted words whose gaps (from 0) `bytes` holds as LEB128 varints, into `out` (cleared
/// first).
fn decode_gaps(bytes: &[u8], out: &mut Vec<u32>) {
    out.clear();
    let (mut prev, mut gap, mut shift) = (0u32, 0u32, 0u32);
    for &b in bytes {
        gap |= u32::from(b & 0x7F) << shift;
        if b & 0x80 == 0 {
            prev += gap;
            out.push(prev);
            gap = 0;
            shift = 0;
        } else {
            shift += 7;
        }
    }
}

#[derive(Debug)]
struct Entry {
    count: u64,
    pair: u64,
    pos: Pos,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count && self.pair == other.pair
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Highest count first; on equal counts the smallest `(left, right)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        self.count
            .cmp(&other.count)
            .then_with(|| other.pair.cmp(&self.pair))
    }
}

/// A run of consecutive words, merged in place.
#[derive(Default)]
struct Block<S> {
    /// Global index of the first word.
    first_word: u32,
    /// The words' raw bytes until `init_block` turns them into `syms` (then empty).
    raw: Vec<u8>,
    /// Symbols; word `i` occupies `syms[starts[i]..starts[i] + lens[i]]` (words in order, with
    /// the gaps merges left after each).
    syms: Vec<S>,
    starts: Vec<u32>,
    lens: Vec<u32>,
    /// Symbols in the words: `syms.len()` minus the gaps.
    live: usize,
    counts: Vec<u64>,
    /// Initial pair index: sorted pairs, and for pair `k` the words whose gaps (as in
    /// [`WordList`]) are `init_words[init_off[k]..init_off[k + 1]]` (local indices, increasing).
    /// Most pairs of FAST's long words occur in most words: a byte per word, not four.
    init_pairs: Vec<u64>,
    init_off: Vec<u32>,
    init_words: Vec<u8>,
    /// Initial pair counts of this block (aligned with `init_pairs`).
    init_counts: Vec<i64>,
    /// Output of the last merge, see [`MergeOut`].
    out: MergeOut,
}

/// How many listed words ahead of the one being merged to prefetch. The words a merge visits
/// are scattered through the block, so without this each visit starts with a cache miss the
/// hardware prefetcher cannot predict (it dominated the trainer's time).
const PREFETCH_AHEAD: usize = 12;

impl<S: Copy> Block<S> {
    /// Packs the words to the front of `syms` and frees the rest once the gaps merges leave
    /// are at least half of it. Merges shorten FAST's long words quickly (1M chunks of 50×14:
    /// 686M symbols, 133M after 64 merges), and the queue's word lists grow meanwhile: this lets
    /// them reuse the memory instead of adding to it. Each symbol is copied at most once per
    /// halving, so the copies cost less than one pass of merges over the block.
    fn compact_if_sparse(&mut self) {
        let gaps = self.syms.len() - self.live;
        if gaps == 0 || gaps < self.live {
            return;
        }
        self.pack_words();
    }

    /// Packs the words to the front of `syms` and frees the rest.
    fn pack_words(&mut self) {
        let mut at = 0usize;
        for (start, &len) in self.starts.iter_mut().zip(&self.lens) {
            let from = *start as usize;
            self.syms.copy_within(from..from + len as usize, at);
            *start = at as u32;
            at += len as usize;
        }
        debug_assert_eq!(at, self.live);
        self.syms.truncate(at);
        self.syms.shrink_to_fit();
    }

    /// Asks the CPU to start loading the first symbols of local word `local`.
    #[inline]
    fn prefetch_word(&self, local: usize) {
        #[cfg(target_arch = "x86_64")]
        if let Some(&start) = self.starts.get(local) {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let p = self.syms.as_ptr().wrapping_add(start as usize).cast::<i8>();
            // SAFETY: prefetching is only a hint; it never faults, whatever the address.
            unsafe {
                for line in 0..4 {
                    _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64 * line));
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = local;
    }
}

/// Gains a block's [`MergeOut`] keeps room for between merges.
const GAINED_KEPT: usize = 1 << 12;

/// What one merge of `(L, R)` into `N` did to a block's pair counts.
///
/// Every pair a replacement touches has one of four shapes: `(p, L)` and `(R, q)` lose an
/// occurrence, `(p, N)` and `(N, q)` gain one, for the neighbours `p` before and `q` after. So the
/// changes are kept in dense arrays indexed by the neighbour's id rather than in a hash map.
#[derive(Default)]
struct MergeOut {
    /// Count change of `(p, L)`, `(p, N)`, `(R, q)`, `(N, q)`, indexed by `p` or `q`.
    minus_left: Vec<i64>,
    plus_left: Vec<i64>,
    minus_right: Vec<i64>,
    plus_right: Vec<i64>,
    /// `global word + 1` of the last word that recorded a gain of `(p, N)` / `(N, q)`.
    mark_left: Vec<u32>,
    mark_right: Vec<u32>,
    /// `(p, global word)` where `(p, N)` gained, and `(q, global word)` where `(N, q)` gained,
    /// once per word, in word order.
    gained_left: Vec<(u32, u32)>,
    gained_right: Vec<(u32, u32)>,
    /// Neighbour ids with any nonzero entry, to reset them afterwards.
    touched: Vec<u32>,
    is_touched: Vec<bool>,
}

impl MergeOut {
    fn ensure(&mut self, vocab_len: usize) {
        if self.minus_left.len() < vocab_len {
            for v in [
                &mut self.minus_left,
                &mut self.plus_left,
                &mut self.minus_right,
                &mut self.plus_right,
            ] {
                v.resize(vocab_len, 0);
            }
            self.mark_left.resize(vocab_len, 0);
            self.mark_right.resize(vocab_len, 0);
            self.is_touched.resize(vocab_len, false);
        }
    }

    #[inline]
    fn touch(&mut self, id: u32) {
        if !self.is_touched[id as usize] {
            self.is_touched[id as usize] = true;
            self.touched.push(id);
        }
    }

    fn reset(&mut self) {
        for &t in &self.touched {
            let t = t as usize;
            self.minus_left[t] = 0;
            self.plus_left[t] = 0;
            self.minus_right[t] = 0;
            self.plus_right[t] = 0;
            self.mark_left[t] = 0;
            self.mark_right[t] = 0;
            self.is_touched[t] = false;
        }
        self.touched.clear();
        self.gained_left.clear();
        self.gained_right.clear();
        // The first merges gain pairs in nearly every word; later ones in few. Keeping the
        // first merges' capacity in every block would hold that memory for the whole training.
        self.gained_left.shrink_to(GAINED_KEPT);
        self.gained_right.shrink_to(GAINED_KEPT);
    }
}

/// A word's symbol as stored in the blocks: `u16` when every id the training can create fits
/// (FAST vocabularies), halving the memory the merge scans stream through, else `u32`.
trait Sym: Copy + Eq + Default + Send + Sync + 'static {
    fn from_id(id: u32) -> Self;
    fn id(self) -> u32;

    /// The symbols of raw word bytes, whose ids are `byte_id` (all of which fit).
    fn from_bytes(raw: Vec<u8>, byte_id: &[u32; 256]) -> Vec<Self> {
        raw.iter()
            .map(|&b| Self::from_id(byte_id[b as usize]))
            .collect()
    }
}

impl Sym for u16 {
    #[inline]
    fn from_id(id: u32) -> Self {
        debug_assert!(id <= u32::from(u16::MAX));
        id as u16
    }
    #[inline]
    fn id(self) -> u32 {
        u32::from(self)
    }
}

impl Sym for u8 {
    #[inline]
    fn from_id(id: u32) -> Self {
        debug_assert!(id <= u32::from(u8::MAX));
        id as u8
    }
    #[inline]
    fn id(self) -> u32 {
        u32::from(self)
    }

    /// In place: the bytes' own allocation holds the symbols.
    fn from_bytes(mut raw: Vec<u8>, byte_id: &[u32; 256]) -> Vec<Self> {
        for b in &mut raw {
            *b = Self::from_id(byte_id[*b as usize]);
        }
        raw
    }
}

/// The blocks, with one-byte symbols while every id fits in a byte (the words' bytes become the
/// symbols in place), widened to `S` when the first larger id is created: by then merges have
/// shortened the words, so the wide copy is smaller than the words were.
enum Blocks<S> {
    Narrow(Vec<Block<u8>>),
    Wide(Vec<Block<S>>),
}

impl<S: Sym> Blocks<S> {
    fn outs(&mut self) -> Vec<&mut MergeOut> {
        match self {
            Self::Narrow(b) => b.iter_mut().map(|b| &mut b.out).collect(),
            Self::Wide(b) => b.iter_mut().map(|b| &mut b.out).collect(),
        }
    }

    fn first_words(&self) -> Vec<u32> {
        match self {
            Self::Narrow(b) => b.iter().map(|b| b.first_word).collect(),
            Self::Wide(b) => b.iter().map(|b| b.first_word).collect(),
        }
    }

    fn init_pairs(&self) -> Vec<(&[u64], &[i64])> {
        match self {
            Self::Narrow(b) => b
                .iter()
                .map(|b| (&b.init_pairs[..], &b.init_counts[..]))
                .collect(),
            Self::Wide(b) => b
                .iter()
                .map(|b| (&b.init_pairs[..], &b.init_counts[..]))
                .collect(),
        }
    }

    /// Makes the blocks wide if they are not, block by block (each narrow block is freed once
    /// copied), keeping only the words' current symbols.
    fn widen(&mut self) {
        if let Self::Narrow(narrow) = self {
            let wide = std::mem::take(narrow)
                .into_iter()
                .map(widen_block)
                .collect();
            *self = Self::Wide(wide);
        }
    }
}

/// `block` with `S` symbols, its words packed (merges leave gaps after each word).
fn widen_block<S: Sym>(block: Block<u8>) -> Block<S> {
    let live: usize = block.lens.iter().map(|&l| l as usize).sum();
    let mut syms = Vec::with_capacity(live);
    let mut starts = Vec::with_capacity(block.starts.len());
    for (&start, &len) in block.starts.iter().zip(&block.lens) {
        starts.push(syms.len() as u32);
        let start = start as usize;
        syms.extend(
            block.syms[start..start + len as usize]
                .iter()
                .map(|&s| S::from_id(u32::from(s))),
        );
    }
    Block {
        first_word: block.first_word,
        raw: Vec::new(),
        live,
        syms,
        starts,
        lens: block.lens,
        counts: block.counts,
        init_pairs: block.init_pairs,
        init_off: block.init_off,
        init_words: block.init_words,
        init_counts: block.init_counts,
        out: block.out,
    }
}

/// Merges the current entry's pair into the words of `block` (block `b`) it lists.
#[allow(clippy::too_many_arguments)]
fn merge_block<S: Sym>(
    block: &mut Block<S>,
    b: usize,
    pos: &Pos,
    pair: u64,
    listed: &[u32],
    ranges: &[(usize, usize)],
    merge: (u32, u32, u32),
    token_len: &[usize],
    max_len: usize,
    vocab_len: usize,
) {
    match pos {
        Pos::Initial => {
            let Ok(k) = block.init_pairs.binary_search(&pair) else {
                return;
            };
            block.out.ensure(vocab_len);
            let (lo, hi) = (block.init_off[k] as usize, block.init_off[k + 1] as usize);
            let mut words = Vec::new();
            decode_gaps(&block.init_words[lo..hi], &mut words);
            merge_listed(block, &words, 0, merge, token_len, max_len);
        }
        Pos::Words(_) => {
            let (lo, hi) = ranges[b];
            if lo < hi {
                block.out.ensure(vocab_len);
            }
            let first = block.first_word;
            merge_listed(block, &listed[lo..hi], first, merge, token_len, max_len);
        }
    }
    block.compact_if_sparse();
}

impl Sym for u32 {
    #[inline]
    fn from_id(id: u32) -> Self {
        id
    }
    #[inline]
    fn id(self) -> u32 {
        self
    }
}

/// Trains on `words` with `config`; `progress(done, total)` is called after each merge.
pub(crate) fn train(
    words: WordSet,
    config: &TrainConfig,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Trained> {
    // Ids stay below the larger of the alphabet (at most initial alphabet + 256 symbols) and
    // the vocabulary size: training stops once the vocabulary is full.
    let most_ids = config.vocab_size.max(config.initial_alphabet.len() + 256);
    if most_ids <= usize::from(u16::MAX) {
        train_with::<u16>(words, config, progress)
    } else {
        train_with::<u32>(words, config, progress)
    }
}

fn train_with<S: Sym>(
    mut words: WordSet,
    config: &TrainConfig,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Trained> {
    // Alphabet: the initial alphabet plus every byte-level symbol seen, by code point.
    let mut alphabet: Vec<char> = config.initial_alphabet.clone();
    let seen = words.utf8_seen();
    let char_utf8 = words.char_utf8.take();
    for (&seen, &symbol) in seen.iter().zip(&BYTE_TO_CHAR) {
        if seen {
            alphabet.push(symbol);
        }
    }
    alphabet.sort_unstable();
    alphabet.dedup();
    let mut tokens: Vec<String> = alphabet.iter().map(|c| c.to_string()).collect();
    let mut token_len: Vec<usize> = vec![1; tokens.len()];
    let mut index: HashMap<String, u32> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    let mut byte_id = [u32::MAX; 256];
    for (b, slot) in byte_id.iter_mut().enumerate() {
        if let Ok(i) = alphabet.binary_search(&BYTE_TO_CHAR[b]) {
            *slot = i as u32;
        }
    }
    if tokens.len() >= u32::MAX as usize / 2 {
        return Err(Error::InvalidArgument("initial alphabet too large".into()));
    }

    // Convert to ids and index the initial pairs, block by block in parallel (words stored one
    // byte per character are only counted here: see `first_merge`).
    let table = char_utf8.as_deref();
    let mut blocks: Blocks<S> = if tokens.len() <= 256 {
        let mut narrow = make_blocks(words);
        start_blocks(&mut narrow, &byte_id, table)?;
        Blocks::Narrow(narrow)
    } else {
        let mut wide = make_blocks(words);
        start_blocks(&mut wide, &byte_id, table)?;
        Blocks::Wide(wide)
    };

    // Global initial counts.
    let mut pair_counts: FastMap<u64, i64> = FastMap::default();
    for (pairs, counts) in blocks.init_pairs() {
        for (&pair, &count) in pairs.iter().zip(counts) {
            *pair_counts.entry(pair).or_insert(0) += count;
        }
    }
    let mut initial_pairs: Vec<(u64, i64)> = pair_counts.iter().map(|(&p, &c)| (p, c)).collect();
    initial_pairs.sort_unstable();
    // Pushed one by one (not heapified) so that the heap's layout, which decides the order of
    // entries with equal keys, follows from the push order alone.
    let mut queue: BinaryHeap<Entry> = BinaryHeap::with_capacity(initial_pairs.len());
    for &(pair, count) in &initial_pairs {
        if count > 0 {
            queue.push(Entry {
                count: count as u64,
                pair,
                pos: Pos::Initial,
            });
        }
    }
    drop(initial_pairs);
    let block_starts: Vec<u32> = blocks.first_words();
    // What the words' collection and earlier fits (placement trials) freed.
    release_free_memory();

    // Words stored one byte per character are expanded to UTF-8 block by block, each block
    // merged at once with the first merge (which the heap already decides): the expanded words
    // of every block are never all in memory together, only the merged ones.
    let mut premerged: Option<u64> = None;
    if let Some(table) = table {
        let first = first_merge(&queue, &pair_counts, &tokens, &index, &token_len, config)
            .filter(|m| matches!(blocks, Blocks::Wide(_)) || m.merge.2 <= u32::from(u8::MAX));
        premerged = first.as_ref().map(|m| m.pair);
        let max_len = config.max_token_length;
        // A few blocks at a time, the memory their old words leave returned to the system in
        // between, so that the expanded blocks do not add to it.
        macro_rules! expand_all {
            ($blocks:expr) => {
                for (group, blocks) in $blocks.chunks_mut(EXPAND_GROUP).enumerate() {
                    parallel::for_each_block(blocks, 1, 2, Vec::new, |scratch, b, block| {
                        let b = group * EXPAND_GROUP + b;
                        let block = &mut block[0];
                        expand_block(block, table);
                        init_block(block, &byte_id, scratch);
                        if let Some(m) = &first {
                            merge_block(
                                block,
                                b,
                                &Pos::Initial,
                                m.pair,
                                &[],
                                &[],
                                m.merge,
                                &m.token_len,
                                max_len,
                                m.token_len.len(),
                            );
                            // Expanded, then merged: free what the merge saved at once.
                            block.pack_words();
                        }
                    })?;
                    release_free_memory();
                }
            };
        }
        match &mut blocks {
            Blocks::Narrow(narrow) => expand_all!(narrow),
            Blocks::Wide(wide) => expand_all!(wide),
        }
    }

    let total_steps = config.vocab_size.saturating_sub(tokens.len()) as u64;
    let mut merges: Vec<(u32, u32)> = Vec::new();
    let mut merged_ids: Vec<u32> = Vec::new();
    let mut gained_left: Vec<Vec<u32>> = Vec::new();
    let mut gained_right: Vec<Vec<u32>> = Vec::new();
    let mut gained_touched: Vec<u64> = Vec::new();
    let mut ranges: Vec<(usize, usize)> = vec![(0, 0); block_starts.len()];
    // The decoded word list of the entry being merged.
    let mut listed: Vec<u32> = Vec::new();
    loop {
        if tokens.len() >= config.vocab_size {
            break;
        }
        let Some(mut top) = queue.pop() else {
            break;
        };
        let current = pair_counts.get(&top.pair).copied().unwrap_or(0);
        if top.count != current as u64 {
            top.count = current as u64;
            queue.push(top);
            continue;
        }
        if top.count < 1 || config.min_frequency > top.count {
            break;
        }
        let (left, right) = unpack(top.pair);
        let (merged, existing) = merged_token(&tokens, &index, left, right);
        let new_id = match existing {
            Some(id) => id,
            None => {
                let id = tokens.len() as u32;
                token_len.push(token_len[left as usize] + token_len[right as usize]);
                index.insert(merged.clone(), id);
                tokens.push(merged);
                id
            }
        };
        merges.push((left, right));
        merged_ids.push(new_id);

        // Which words of which block to merge in.
        if let Pos::Words(encoded) = &top.pos {
            encoded.decode_into(&mut listed);
            let list = &listed;
            for (b, range) in ranges.iter_mut().enumerate() {
                let lo = list.partition_point(|&w| w < block_starts[b]);
                let hi = match block_starts.get(b + 1) {
                    Some(&next) => list.partition_point(|&w| w < next),
                    None => list.len(),
                };
                *range = (lo, hi);
            }
        }
        // The first merge may have been applied as the blocks were expanded (its pair is the
        // first valid entry the heap gives, as `first_merge` found).
        let premerge = premerged.take();
        let done = premerge == Some(top.pair);
        debug_assert!(
            premerge.is_none() || done,
            "the heap gives the premerged pair first"
        );
        if new_id > u32::from(u8::MAX) && matches!(blocks, Blocks::Narrow(_)) {
            blocks.widen();
            release_free_memory();
        }
        let (pos, pair) = (&top.pos, top.pair);
        let (listed, ranges) = (&listed[..], &ranges[..]);
        let token_len_ref = &token_len;
        let max_len = config.max_token_length;
        let vocab_len = tokens.len();
        let merge = (left, right, new_id);
        macro_rules! merge_all {
            ($blocks:expr) => {
                parallel::for_each_block(
                    $blocks,
                    1,
                    2,
                    || (),
                    |_, b, block| {
                        merge_block(
                            &mut block[0],
                            b,
                            pos,
                            pair,
                            listed,
                            ranges,
                            merge,
                            token_len_ref,
                            max_len,
                            vocab_len,
                        )
                    },
                )?
            };
        }
        match &mut blocks {
            _ if done => {}
            Blocks::Narrow(narrow) => merge_all!(narrow),
            Blocks::Wide(wide) => merge_all!(wide),
        }

        // Apply the changes in block (hence word) order.
        gained_left.resize_with(vocab_len, Vec::new);
        gained_right.resize_with(vocab_len, Vec::new);
        for out in blocks.outs() {
            for &t in &out.touched {
                let i = t as usize;
                for (pair, delta) in [
                    (pack(t, left), out.minus_left[i]),
                    (pack(t, new_id), out.plus_left[i]),
                    (pack(right, t), out.minus_right[i]),
                    (pack(new_id, t), out.plus_right[i]),
                ] {
                    if delta != 0 {
                        *pair_counts.entry(pair).or_insert(0) += delta;
                    }
                }
            }
            for &(p, w) in &out.gained_left {
                if gained_left[p as usize].is_empty() {
                    gained_touched.push(pack(p, new_id));
                }
                gained_left[p as usize].push(w);
            }
            for &(q, w) in &out.gained_right {
                if gained_right[q as usize].is_empty() {
                    gained_touched.push(pack(new_id, q));
                }
                gained_right[q as usize].push(w);
            }
            out.reset();
        }
        gained_touched.sort_unstable();
        gained_touched.dedup();
        for &pair in &gained_touched {
            let (a, b) = unpack(pair);
            let mut list = Vec::new();
            if b == new_id {
                list = std::mem::take(&mut gained_left[a as usize]);
            }
            if a == new_id {
                let other = std::mem::take(&mut gained_right[b as usize]);
                list = if list.is_empty() {
                    other
                } else {
                    union_sorted(&list, &other)
                };
            }
            let count = pair_counts[&pair];
            if count > 0 {
                queue.push(Entry {
                    count: count as u64,
                    pair,
                    pos: Pos::Words(WordList::encode(&list)),
                });
            }
        }
        gained_touched.clear();
        // The first merges shorten the words most (blocks are packed, their old symbols freed)
        // while the queue's lists grow: give the freed memory back now and then, most often early.
        if merges.len() <= 16 || merges.len().is_power_of_two() {
            release_free_memory();
        }
        progress(merges.len() as u64, total_steps.max(merges.len() as u64));
    }
    Ok(Trained {
        tokens,
        merges,
        merged_ids,
    })
}

/// The token a merge of `left` and `right` makes, and its id if the vocabulary already has it
/// (shared by the training loop and [`first_merge`], which must agree on it).
fn merged_token(
    tokens: &[String],
    index: &HashMap<String, u32>,
    left: u32,
    right: u32,
) -> (String, Option<u32>) {
    let merged = format!("{}{}", tokens[left as usize], tokens[right as usize]);
    let existing = index.get(&merged).copied();
    (merged, existing)
}

/// The first merge training makes, when it is certain before any block is merged: the entry the
/// heap gives first, valid and frequent enough (the training loop's checks, in its order).
struct FirstMerge {
    pair: u64,
    /// `(left, right, new id)`.
    merge: (u32, u32, u32),
    /// Token lengths in characters once the merge has added its token.
    token_len: Vec<usize>,
}

fn first_merge(
    queue: &BinaryHeap<Entry>,
    pair_counts: &FastMap<u64, i64>,
    tokens: &[String],
    index: &HashMap<String, u32>,
    token_len: &[usize],
    config: &TrainConfig,
) -> Option<FirstMerge> {
    if tokens.len() >= config.vocab_size {
        return None;
    }
    let top = queue.peek()?;
    let current = pair_counts.get(&top.pair).copied().unwrap_or(0);
    if top.count != current as u64 || top.count < 1 || config.min_frequency > top.count {
        return None;
    }
    let (left, right) = unpack(top.pair);
    let mut token_len = token_len.to_vec();
    let new_id = match merged_token(tokens, index, left, right).1 {
        Some(id) => id,
        None => {
            token_len.push(token_len[left as usize] + token_len[right as usize]);
            tokens.len() as u32
        }
    };
    Some(FirstMerge {
        pair: top.pair,
        merge: (left, right, new_id),
        token_len,
    })
}

/// Converts the blocks to ids and indexes their initial pairs; blocks whose words are stored one
/// byte per character (`table`: each one's UTF-8) only get their initial pair counts.
fn start_blocks<S: Sym>(
    blocks: &mut [Block<S>],
    byte_id: &[u32; 256],
    table: Option<&[Vec<u8>]>,
) -> Result<()> {
    match table {
        None => parallel::for_each_block(blocks, 1, 2, Vec::new, |scratch, _, block| {
            init_block(&mut block[0], byte_id, scratch)
        }),
        Some(table) => parallel::for_each_block(blocks, 1, 2, Vec::new, |scratch, _, block| {
            count_block(&mut block[0], table, byte_id, scratch)
        }),
    }
}

/// The raw word bytes of words starting at `starts` in `raw`, word by word.
fn raw_words<'a>(raw: &'a [u8], starts: &'a [u32]) -> impl Iterator<Item = &'a [u8]> + 'a {
    (0..starts.len()).map(move |i| {
        let end = starts.get(i + 1).map_or(raw.len(), |&e| e as usize);
        &raw[starts[i] as usize..end]
    })
}

/// The initial pair counts of a block whose words are stored one byte per character, counted on
/// their UTF-8 (`table`) without expanding them: `init_pairs` and `init_counts` as
/// [`init_block`] sets them.
fn count_block<S>(
    block: &mut Block<S>,
    table: &[Vec<u8>],
    byte_id: &[u32; 256],
    counts: &mut Vec<i64>,
) {
    counts.clear();
    counts.resize(1 << 16, 0);
    for (word, &count) in raw_words(&block.raw, &block.starts).zip(&block.counts) {
        let mut prev: Option<u8> = None;
        for &c in word {
            for &b in &table[c as usize] {
                if let Some(p) = prev {
                    counts[usize::from(p) << 8 | usize::from(b)] += count as i64;
                }
                prev = Some(b);
            }
        }
    }
    let mut present: Vec<(u64, usize)> = (0..1 << 16)
        .filter(|&key| counts[key] > 0)
        .map(|key| (pack(byte_id[key >> 8], byte_id[key & 0xFF]), key))
        .collect();
    present.sort_unstable();
    block.init_pairs = present.iter().map(|&(pair, _)| pair).collect();
    block.init_counts = present.iter().map(|&(_, key)| counts[key]).collect();
}

/// Replaces a block's words stored one byte per character by their UTF-8 (`table`), in the
/// same allocation, grown.
///
/// In place rather than into a new buffer: the segment was allocated by the thread that
/// collected the words, the expansion runs on a worker thread, and the C allocator gives each
/// thread its own arena; a new buffer would come from the worker's arena while the freed segment
/// stayed in the collector's, so every block's memory would be held twice.
fn expand_block<S>(block: &mut Block<S>, table: &[Vec<u8>]) {
    let compact_len = block.raw.len();
    // The words stay in order: each one's UTF-8 starts where the previous one's ends.
    let mut total = 0usize;
    for i in 0..block.starts.len() {
        let from = block.starts[i] as usize;
        let to = block.starts.get(i + 1).map_or(compact_len, |&e| e as usize);
        block.starts[i] = total as u32;
        total += block.raw[from..to]
            .iter()
            .map(|&c| table[c as usize].len())
            .sum::<usize>();
    }
    // Back to front: every character's UTF-8 lands at or after its own byte (each takes at least
    // one), so no byte is overwritten before it is read.
    block.raw.resize(total, 0);
    let raw = &mut block.raw[..];
    let mut at = total;
    for r in (0..compact_len).rev() {
        let utf8 = &table[raw[r] as usize];
        at -= utf8.len();
        raw[at..at + utf8.len()].copy_from_slice(utf8);
    }
    debug_assert_eq!(at, 0);
}

/// The words' segments as blocks (raw bytes, starts and counts; `init_block` does the rest).
fn make_blocks<S: Sym>(words: WordSet) -> Vec<Block<S>> {
    let WordSet {
        segments,
        segment_first,
        starts,
        counts,
        ..
    } = words;
    let bounds: Vec<usize> = segment_first
        .iter()
        .map(|&f| f as usize)
        .chain([counts.len()])
        .collect();
    segments
        .into_iter()
        .zip(bounds.windows(2))
        .map(|(raw, b)| Block {
            first_word: b[0] as u32,
            raw,
            starts: starts[b[0]..b[1]].to_vec(),
            counts: counts[b[0]..b[1]].to_vec(),
            ..Block::default()
        })
        .collect()
}

/// Turns a block's raw bytes into symbols (freeing the bytes) and builds its initial pair index.
fn init_block<S: Sym>(block: &mut Block<S>, byte_id: &[u32; 256], marks: &mut Vec<u32>) {
    let raw = std::mem::take(&mut block.raw);
    block.init_pairs.clear();
    block.init_counts.clear();
    let n = block.starts.len();
    block.lens = (0..n)
        .map(|i| {
            let end = block.starts.get(i + 1).map_or(raw.len(), |&e| e as usize);
            (end - block.starts[i] as usize) as u32
        })
        .collect();
    let word = |i: usize| {
        let start = block.starts[i] as usize;
        &raw[start..start + block.lens[i] as usize]
    };

    // Pairs of initial symbols are pairs of bytes: index them densely by byte pair.
    const NO: u32 = u32::MAX;
    marks.clear();
    marks.resize(1 << 16, NO); // last local word that counted each byte pair
    let mut counts = vec![0i64; 1 << 16];
    // Bytes of each pair's word list: the gaps between the words it occurs in, from 0.
    let mut nbytes = vec![0u32; 1 << 16];
    let gap = |last: u32, i: usize| i as u32 - if last == NO { 0 } else { last };
    for i in 0..n {
        let bytes = word(i);
        let count = block.counts[i] as i64;
        for w in bytes.windows(2) {
            let key = usize::from(w[0]) << 8 | usize::from(w[1]);
            counts[key] += count;
            if marks[key] != i as u32 {
                nbytes[key] += gap_len(gap(marks[key], i)) as u32;
                marks[key] = i as u32;
            }
        }
    }
    // Order the present byte pairs by their id pair.
    let mut present: Vec<(u64, usize)> = (0..1 << 16)
        .filter(|&key| nbytes[key] > 0)
        .map(|key| (pack(byte_id[key >> 8], byte_id[key & 0xFF]), key))
        .collect();
    present.sort_unstable();
    let mut cursor = vec![0u32; 1 << 16];
    block.init_off = Vec::with_capacity(present.len() + 1);
    let mut total = 0u32;
    for &(pair, key) in &present {
        block.init_pairs.push(pair);
        block.init_counts.push(counts[key]);
        block.init_off.push(total);
        cursor[key] = total;
        total += nbytes[key];
    }
    block.init_off.push(total);
    block.init_words = vec![0; total as usize];
    marks.iter_mut().for_each(|m| *m = NO);
    for i in 0..n {
        for w in word(i).windows(2) {
            let key = usize::from(w[0]) << 8 | usize::from(w[1]);
            if marks[key] != i as u32 {
                let g = gap(marks[key], i);
                marks[key] = i as u32;
                write_gap(&mut block.init_words[cursor[key] as usize..], g);
                cursor[key] += gap_len(g) as u32;
            }
        }
    }
    block.syms = S::from_bytes(raw, byte_id);
    block.live = block.syms.len();
}

/// Merges `(left, right)` into `new_id` in the words `words[i] - offset` (local indices) of
/// `block`, prefetching ahead. With AVX2 (checked at run time) the pair search runs on 256-bit
/// vectors: 16 `u16` symbols per comparison.
fn merge_listed<S: Sym>(
    block: &mut Block<S>,
    words: &[u32],
    offset: u32,
    merge: (u32, u32, u32),
    token_len: &[usize],
    max_len: usize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { merge_listed_avx2(block, words, offset, merge, token_len, max_len) };
            return;
        }
    }
    merge_listed_generic(block, words, offset, merge, token_len, max_len);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn merge_listed_avx2<S: Sym>(
    block: &mut Block<S>,
    words: &[u32],
    offset: u32,
    merge: (u32, u32, u32),
    token_len: &[usize],
    max_len: usize,
) {
    merge_listed_generic(block, words, offset, merge, token_len, max_len);
}

#[inline(always)]
fn merge_listed_generic<S: Sym>(
    block: &mut Block<S>,
    words: &[u32],
    offset: u32,
    merge: (u32, u32, u32),
    token_len: &[usize],
    max_len: usize,
) {
    for (j, &w) in words.iter().enumerate() {
        if let Some(&ahead) = words.get(j + PREFETCH_AHEAD) {
            block.prefetch_word((ahead - offset) as usize);
        }
        merge_word(block, (w - offset) as usize, merge, token_len, max_len);
    }
}

/// Merges `(left, right)` into `new_id` in one word of `block`, left to right without overlap,
/// recording the pair count changes in the block's [`MergeOut`].
#[inline(always)]
fn merge_word<S: Sym>(
    block: &mut Block<S>,
    local: usize,
    (left, right, new_id): (u32, u32, u32),
    token_len: &[usize],
    max_len: usize,
) {
    let count = block.counts[local] as i64;
    let mark = block.first_word + local as u32 + 1;
    let start = block.starts[local] as usize;
    let n = block.lens[local] as usize;
    let syms = &mut block.syms[start..start + n];
    let out = &mut block.out;
    let new_len = token_len[new_id as usize];
    // Skip to the first occurrence without writing; a word without one is left untouched.
    let (left, right) = (S::from_id(left), S::from_id(right));
    let Some(first) = find_pair(syms, 0, left, right) else {
        return;
    };
    let (mut r, mut o) = (first, first);
    loop {
        // Here `syms[r..r + 2]` is an occurrence; `syms[..o]` is the merged prefix.
        if o > 0 {
            let prev = syms[o - 1].id();
            let i = prev as usize;
            out.touch(prev);
            out.minus_left[i] -= count;
            if token_len[i] + new_len < max_len {
                out.plus_left[i] += count;
                if out.mark_left[i] != mark {
                    out.mark_left[i] = mark;
                    out.gained_left.push((prev, mark - 1));
                }
            }
        }
        syms[o] = S::from_id(new_id);
        o += 1;
        r += 2;
        if r >= n {
            break;
        }
        let next = syms[r].id();
        let i = next as usize;
        out.touch(next);
        out.minus_right[i] -= count;
        if token_len[i] + new_len < max_len {
            out.plus_right[i] += count;
            if out.mark_right[i] != mark {
                out.mark_right[i] = mark;
                out.gained_right.push((next, mark - 1));
            }
        }
        // Move the run before the next occurrence (or the rest of the word) down in one copy.
        let stop = find_pair(syms, r, left, right);
        let end = stop.unwrap_or(n);
        syms.copy_within(r..end, o);
        o += end - r;
        r = end;
        if stop.is_none() {
            break;
        }
    }
    block.lens[local] = o as u32;
    block.live -= n - o;
}

/// Position of the first `(left, right)` at or after `from`.
///
/// Words are scanned in full for every merge that lists them (as the library does), so this is
/// the trainer's hot loop. Blocks of 16 positions are tested for the whole pair at once with a
/// branch-free comparison the compiler vectorizes (testing only `left` would stop at nearly every
/// block when `left` is a frequent symbol, such as FAST's zero coefficient).
#[inline(always)]
fn find_pair<S: Sym>(syms: &[S], from: usize, left: S, right: S) -> Option<usize> {
    const LANES: usize = 16;
    let n = syms.len();
    let mut i = from;
    // Each block reads `syms[i..i + LANES + 1]`: positions `i..i + LANES` and their right parts.
    while i + LANES < n {
        let lefts: &[S; LANES] = syms[i..i + LANES].try_into().expect("LANES symbols");
        let rights: &[S; LANES] = syms[i + 1..i + 1 + LANES]
            .try_into()
            .expect("LANES symbols");
        let hit = lefts
            .iter()
            .zip(rights)
            .fold(false, |any, (&a, &b)| any | ((a == left) & (b == right)));
        if hit {
            break;
        }
        i += LANES;
    }
    while i + 1 < n {
        if syms[i] == left && syms[i + 1] == right {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The sorted union of two sorted lists of distinct words.
fn union_sorted(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// A literal, obviously-correct reading of the `BpeTrainer` semantics on character strings.
    fn simple_train(words: &[(String, u64)], config: &TrainConfig) -> Trained {
        let mut alphabet: BTreeSet<char> = config.initial_alphabet.iter().copied().collect();
        for (w, _) in words {
            alphabet.extend(w.chars());
        }
        let mut tokens: Vec<String> = alphabet.iter().map(|c| c.to_string()).collect();
        let id = |tokens: &[String], s: &str| tokens.iter().position(|t| t == s).map(|i| i as u32);
        // A word: (id, length in characters) per symbol.
        let mut ws: Vec<Vec<(u32, usize)>> = words
            .iter()
            .map(|(w, _)| {
                w.chars()
                    .map(|c| (id(&tokens, &c.to_string()).unwrap(), 1))
                    .collect()
            })
            .collect();
        let counts: Vec<i64> = words.iter().map(|&(_, c)| c as i64).collect();
        let mut pair_counts: BTreeMap<(u32, u32), i64> = BTreeMap::new();
        let mut where_: BTreeMap<(u32, u32), BTreeSet<usize>> = BTreeMap::new();
        for (i, w) in ws.iter().enumerate() {
            for win in w.windows(2) {
                let p = (win[0].0, win[1].0);
                *pair_counts.entry(p).or_insert(0) += counts[i];
                where_.entry(p).or_default().insert(i);
            }
        }
        #[derive(PartialEq, Eq)]
        struct E(u64, (u32, u32), BTreeSet<usize>);
        impl PartialOrd for E {
            fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
                Some(self.cmp(o))
            }
        }
        impl Ord for E {
            fn cmp(&self, o: &Self) -> Ordering {
                if self.0 != o.0 {
                    self.0.cmp(&o.0)
                } else {
                    o.1.cmp(&self.1)
                }
            }
        }
        let mut heap = BinaryHeap::new();
        for (p, pos) in std::mem::take(&mut where_) {
            if pair_counts[&p] > 0 {
                heap.push(E(pair_counts[&p] as u64, p, pos));
            }
        }
        let (mut merges, mut merged_ids) = (Vec::new(), Vec::new());
        loop {
            if tokens.len() >= config.vocab_size {
                break;
            }
            let Some(mut top) = heap.pop() else { break };
            if top.0 != pair_counts[&top.1] as u64 {
                top.0 = pair_counts[&top.1] as u64;
                heap.push(top);
                continue;
            }
            if top.0 < 1 || config.min_frequency > top.0 {
                break;
            }
            let s = format!("{}{}", tokens[top.1 .0 as usize], tokens[top.1 .1 as usize]);
            let new_id = match id(&tokens, &s) {
                Some(i) => i,
                None => {
                    tokens.push(s);
                    (tokens.len() - 1) as u32
                }
            };
            merges.push(top.1);
            merged_ids.push(new_id);
            let mut changes = Vec::new();
            for &w in &top.2 {
                let sy = &mut ws[w];
                let mut i = 0;
                while i < sy.len() {
                    if sy[i].0 == top.1 .0 && i + 1 < sy.len() && sy[i + 1].0 == top.1 .1 {
                        let (first, second) = (sy[i], sy[i + 1]);
                        let new_s = (new_id, first.1 + second.1);
                        if i > 0 {
                            changes.push(((sy[i - 1].0, first.0), -1, w));
                            if sy[i - 1].1 + new_s.1 < config.max_token_length {
                                changes.push(((sy[i - 1].0, new_id), 1, w));
                            }
                        }
                        sy.insert(i, new_s);
                        sy.remove(i + 1);
                        sy.remove(i + 1);
                        if i < sy.len() - 1 {
                            changes.push(((second.0, sy[i + 1].0), -1, w));
                            if sy[i + 1].1 + new_s.1 < config.max_token_length {
                                changes.push(((new_id, sy[i + 1].0), 1, w));
                            }
                        }
                    }
                    i += 1;
                }
            }
            for (p, ch, w) in changes {
                *pair_counts.entry(p).or_insert(0) += ch * counts[w];
                if ch > 0 {
                    where_.entry(p).or_default().insert(w);
                }
            }
            for (p, pos) in std::mem::take(&mut where_) {
                if pair_counts[&p] > 0 {
                    heap.push(E(pair_counts[&p] as u64, p, pos));
                }
            }
        }
        Trained {
            tokens,
            merges,
            merged_ids,
        }
    }

    /// Byte-level string of raw bytes.
    fn mapped(bytes: &[u8]) -> String {
        bytes.iter().map(|&b| BYTE_TO_CHAR[b as usize]).collect()
    }

    fn word_set(pieces: &[Vec<u8>]) -> WordSet {
        word_set_in_blocks(pieces, BLOCK_SYMBOLS)
    }

    /// The words in segments (hence trainer blocks) of at most `block_symbols` bytes.
    fn word_set_in_blocks(pieces: &[Vec<u8>], block_symbols: usize) -> WordSet {
        let mut words = WordSet::with_block_symbols(block_symbols, None);
        for p in pieces {
            words.add(p, piece_hash(p)).unwrap();
        }
        words
    }

    fn fast_train(pieces: &[Vec<u8>], config: &TrainConfig) -> Trained {
        train(word_set(pieces), config, &mut |_, _| {}).unwrap()
    }

    /// The same trainer with `u32` symbols (what vocabularies above 65535 ids use).
    fn fast_train_wide(pieces: &[Vec<u8>], config: &TrainConfig) -> Trained {
        train_with::<u32>(word_set(pieces), config, &mut |_, _| {}).unwrap()
    }

    fn simple_from_pieces(pieces: &[Vec<u8>], config: &TrainConfig) -> Trained {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for p in pieces {
            *counts.entry(mapped(p)).or_insert(0) += 1;
        }
        let words: Vec<(String, u64)> = counts.into_iter().collect();
        simple_train(&words, config)
    }

    fn config(vocab_size: usize, min_frequency: u64, max_token_length: usize) -> TrainConfig {
        TrainConfig {
            vocab_size,
            min_frequency,
            max_token_length,
            initial_alphabet: Vec::new(),
        }
    }

    #[test]
    fn matches_the_library_on_its_own_example() {
        // `tokenizers`' test_train: words with counts, min_frequency 2 -> merges re, are, is.
        let corpus = [
            ("roses", 1),
            ("are", 2),
            ("red", 1),
            ("voilets", 1),
            ("blue", 1),
            ("BERT", 1),
            ("is", 2),
            ("big", 1),
            ("and", 1),
            ("so", 1),
            ("GPT-2", 1),
        ];
        let mut pieces = Vec::new();
        for (w, c) in corpus {
            for _ in 0..c {
                pieces.push(w.as_bytes().to_vec());
            }
        }
        let t = fast_train(&pieces, &config(30000, 2, usize::MAX));
        let merged: Vec<&str> = t
            .merged_ids
            .iter()
            .map(|&i| t.tokens[i as usize].as_str())
            .collect();
        assert_eq!(merged, ["re", "are", "is"]);
        assert_eq!(t.tokens.len(), 25);
        assert_eq!(t.tokens[22], "re");
    }

    #[test]
    fn repeated_strings_reuse_ids_and_record_the_merge() {
        // "abc" is reachable as ab+c and a+bc: the second merge reuses the id.
        let pieces: Vec<Vec<u8>> = ["abcx", "abcx", "abcy", "zbc", "zbc", "zbc", "abc", "abc"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        for max_len in [usize::MAX, 3, 2] {
            let cfg = config(100, 1, max_len);
            assert_eq!(fast_train(&pieces, &cfg), simple_from_pieces(&pieces, &cfg));
        }
    }

    #[test]
    fn self_overlapping_pairs_merge_left_to_right() {
        let pieces: Vec<Vec<u8>> = ["aaaaa", "aaa", "aaaa", "aaaaaaa"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        for max_len in [usize::MAX, 5, 4, 3, 2, 0] {
            let cfg = config(50, 0, max_len);
            assert_eq!(
                fast_train(&pieces, &cfg),
                simple_from_pieces(&pieces, &cfg),
                "{max_len}"
            );
        }
    }

    fn corpus_strategy() -> impl Strategy<Value = Vec<Vec<u8>>> {
        // Few distinct bytes (including a UTF-8 lead and continuation byte) and short words:
        // many equal pair counts, so the tie rules decide.
        let byte = prop::sample::select(vec![b'a', b'b', b'c', b'd', 0xC4, 0x80]);
        let word = prop::collection::vec(byte, 1..9);
        prop::collection::vec(word, 1..40)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn fast_trainer_equals_simple_trainer(
            pieces in corpus_strategy(),
            vocab_extra in 0usize..40,
            min_frequency in 0u64..4,
            max_len in prop::sample::select(vec![0usize, 2, 3, 4, 5, 6, 10000]),
            initial in prop::collection::vec(prop::sample::select(vec!['\0', 'a', 'q', '\u{120}']), 0..3),
            block_symbols in 1usize..24,
            padding in prop::sample::select(vec![0u32, 248, 300]),
        ) {
            let mut cfg = config(0, min_frequency, max_len);
            cfg.initial_alphabet = initial;
            // A padded alphabet: 248 extra characters make the one-byte blocks widen during
            // training, 300 make them wide from the start.
            cfg.initial_alphabet.extend((0..padding).filter_map(|i| char::from_u32(0x3000 + i)));
            cfg.vocab_size = 6 + padding as usize + vocab_extra;
            let expected = simple_from_pieces(&pieces, &cfg);
            prop_assert_eq!(&fast_train(&pieces, &cfg), &expected);
            prop_assert_eq!(&fast_train_wide(&pieces, &cfg), &expected);
            // Many small blocks (segments of the word set) train the same merges.
            let blocks = word_set_in_blocks(&pieces, block_symbols);
            prop_assert_eq!(&train(blocks, &cfg, &mut |_, _| {}).unwrap(), &expected);
        }
    }

    /// Characters of one to three UTF-8 bytes (`é`, `ǜ` share no byte; `ǜ` and `Ȝ` share their
    /// continuation byte, as FAST's letters placements do).
    const CHARS: [char; 6] = ['a', 'b', 'é', 'ǜ', 'Ȝ', '中'];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn words_stored_one_byte_per_char_train_as_their_utf8(
            words in prop::collection::vec(prop::collection::vec(0u8..6, 1..9), 1..40),
            vocab_extra in 0usize..40,
            min_frequency in 0u64..4,
            max_len in prop::sample::select(vec![0usize, 2, 3, 4, 6, 10000]),
            block_symbols in 1usize..24,
            padding in prop::sample::select(vec![0u32, 246, 248, 250, 300]),
        ) {
            let utf8: Vec<Vec<u8>> = words
                .iter()
                .map(|w| w.iter().flat_map(|&c| CHARS[c as usize].to_string().into_bytes()).collect())
                .collect();
            let mut cfg = config(0, min_frequency, max_len);
            // Padded alphabets: the first merge's id is 256 for some (the one-byte blocks widen
            // then, so it is not applied while expanding), above 256 for others (wide blocks).
            cfg.initial_alphabet.extend((0..padding).filter_map(|i| char::from_u32(0x3000 + i)));
            cfg.vocab_size = 10 + padding as usize + vocab_extra;
            let expected = simple_from_pieces(&utf8, &cfg);
            let set = || {
                let mut set = WordSet::with_block_symbols(block_symbols, Some(&CHARS));
                for w in &words {
                    set.add(w, piece_hash(w)).unwrap();
                }
                set
            };
            prop_assert_eq!(&train(set(), &cfg, &mut |_, _| {}).unwrap(), &expected);
            prop_assert_eq!(&train_with::<u32>(set(), &cfg, &mut |_, _| {}).unwrap(), &expected);
        }
    }

    proptest! {
        #[test]
        fn word_lists_round_trip(mut words in prop::collection::vec(any::<u32>(), 0..60)) {
            words.sort_unstable();
            words.dedup();
            let mut out = vec![7];
            WordList::encode(&words).decode_into(&mut out);
            prop_assert_eq!(out, words);
        }
    }

    #[test]
    fn sparse_blocks_are_packed_and_dense_ones_left_alone() {
        // Three words whose merges left gaps: "ab_ _", "c", "de_ _ _" (live 5 of 10).
        let mut block = Block::<u8> {
            syms: b"ab..cde...".to_vec(),
            starts: vec![0, 4, 5],
            lens: vec![2, 1, 2],
            live: 5,
            ..Block::default()
        };
        block.compact_if_sparse();
        assert_eq!(block.syms, b"abcde");
        assert_eq!(block.starts, [0, 2, 3]);
        assert_eq!(block.syms.capacity(), 5);
        // Fewer gaps than symbols: nothing moves.
        block.syms = b"abcde.".to_vec();
        block.compact_if_sparse();
        assert_eq!(block.syms, b"abcde.");
    }

    #[test]
    fn find_pair_finds_the_first_occurrence() {
        let mut x = 7u64;
        for len in 0..80usize {
            for _ in 0..20 {
                let syms: Vec<u32> = (0..len)
                    .map(|_| {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                        (x >> 62) as u32
                    })
                    .collect();
                for from in 0..=len {
                    let naive =
                        (from..len.saturating_sub(1)).find(|&i| syms[i] == 1 && syms[i + 1] == 2);
                    assert_eq!(find_pair(&syms, from, 1, 2), naive, "{syms:?} {from}");
                    let narrow: Vec<u16> = syms.iter().map(|&s| s as u16).collect();
                    assert_eq!(find_pair(&narrow, from, 1, 2), naive, "{syms:?} {from}");
                }
            }
        }
    }

    #[test]
    fn blocks_split_large_corpora_consistently() {
        // Enough symbols for several blocks; compare against the simple trainer.
        let mut pieces = Vec::new();
        let mut x = 12345u64;
        for _ in 0..1500 {
            let mut p = Vec::new();
            for _ in 0..(3000 + x % 200) {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                p.push([b'a', b'b', b'c', 0xC4, 0x80][(x >> 60) as usize % 5]);
            }
            pieces.push(p);
        }
        let cfg = config(40, 2, 10000);
        assert_eq!(fast_train(&pieces, &cfg), simple_from_pieces(&pieces, &cfg));
    }
}
