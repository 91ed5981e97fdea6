//! Byte-level BPE with exactly the encoding semantics of the `tokenizers` library.
//!
//! A piece's bytes start as byte-level symbols; the applicable merge of lowest rank is applied
//! repeatedly, leftmost first among equal ranks (`docs/semantics.md#bpe`).
//!
//! # The reference algorithm
//!
//! `tokenizers`' `Word::merge_all` (without dropout) keeps the symbols in a linked list and a
//! binary min-heap of *entries* `(rank, pos)`, ordered by rank, then position:
//!
//! 1. push an entry for every adjacent pair that has a merge;
//! 2. pop the minimum entry `(r, p)`; skip it if symbol `p` was merged away, is the last symbol,
//!    or the pair now at `p` does not merge into the same id as merge `r` ("stale");
//! 3. otherwise merge the pair at `p` into `merged_ids[r]` and push entries for the two new pairs
//!    `(prev, p)` and `(p, next)` that have a merge; repeat from 2 until the heap is empty.
//!
//! For a pair listed twice in the merge list the later entry wins (map insertion). That heap
//! version is kept in the tests as the oracle, and property tests compare everything below with
//! it on random models (consistent or not, with duplicate merges, non-monotone merge orders,
//! merges whose result already exists) and pieces (short, long, repeated symbols).
//!
//! # Consistent models
//!
//! A model is *consistent* when its token strings are distinct and every effective merge yields
//! the token spelled as the concatenation of its parts (the `tokenizer.json` reader guarantees
//! it; [`Bpe::new`] checks it). Then, by induction over merges, every live symbol is the token
//! spelling the byte-level text of its byte range, and a symbol only ever grows to the right from
//! a fixed start. Consequences:
//!
//! * **Stale entries.** If the pair at `p` is still `merges[r]`, the reference's lookup returns
//!   `(r, merged_ids[r])`: the entry is valid, no lookup needed. Otherwise the pair at `p` spans
//!   a strictly longer range than when the entry was pushed, so its merged token (if any) is a
//!   longer string, a different id, and the reference skips the entry: no lookup needed either.
//!   (Inconsistent models, only constructible inside the crate, do the reference's lookup.)
//! * **A destroyed pair never comes back**, and the valid entries in the heap are exactly the
//!   current adjacent pairs that have a merge (each was pushed when it formed). So the reference
//!   is the rule "merge the current pair of lowest `(rank, pos)`", whatever the heap holds.
//! * **Pre-merged characters.** For a two-byte UTF-8 character `(b1, b2)` whose merge has rank
//!   `r` below every merge taking `b1` as a right part or `b2` as a left part, the two bytes are
//!   certain to merge with each other first: before rank `r` no merge can touch either (their
//!   only other pairs rank higher), and the pair of rank `r` is present until it merges. Starting
//!   from the merged character instead changes none of the rule's choices: pairs involving the
//!   character's pieces rank above `r` either way (merges using its token rank after the merge
//!   producing it; in models that are not rank-monotone this is checked, not assumed), and
//!   every other pair is the same. `encode_piece` therefore starts from such characters (for
//!   FAST, U+0162 "zero" — most of a chunk) and halves the work.
//!
//! # The fast paths
//!
//! **Trainer-written models: no merge loop at all** ([`backtrack`]). When the model is monotone
//! and every token has one merge tree, a long piece is encoded by a linear search for the
//! tokenization whose tokens are their own encodings and whose adjacent pairs would not merge
//! (a lemma proved there says that tokenization is the merge loop's result); the merge loops
//! below remain for other models and as the fallback if the search gives up.
//!
//! **Pair lookup.** A dense rank matrix over the ids that occur as left / right parts (a few
//! hundred in FAST vocabularies), three loads and no branch; larger models use an
//! open-addressing table with a multiplicative hash. Both are built once per model.
//!
//! **Monotone models: a sweep over the ranks, on runs** ([`Bpe::merge_runs`], module
//! [`runs`]). When every merge using a token ranks after every merge producing it (true of files
//! written by the BPE trainer; checked once in [`Bpe::new`]), a merge of rank `r` only creates
//! pairs of rank `> r`, so the heap's pops are non-decreasing in rank: all entries of rank `r` are
//! present when the first is popped and come out by increasing position, and an entry pushed
//! while rank `r` is processed is not popped before rank `r` is done. The loop is then a sweep
//! over the ranks, and on a piece kept as runs of equal symbols a whole run merges at once: a
//! run of a thousand zeros costs its few levels of merges, not a thousand.
//!
//! **Choosing.** The backtracking search is the fastest on the pieces training saw (it
//! touches each unit about once); the run sweep is linear whatever the piece. A run of one unit
//! longer than 16 and than any valid token spelled by that unit alone (an *untrained* run: the
//! vocabulary cannot cover it in a few tokens, and the search would backtrack over it again and
//! again) is not given to the search: the search encodes the rest of the piece, a little way
//! into each such run, and the run sweep the run's interior ([`untrained`]; the groups are checked
//! to fit, else the whole piece goes to the run sweep). The search also leaves a piece to the
//! run sweep when it exceeds a work budget proportional to the piece. All give the merge loop's
//! ids; the choice only moves the cost.
//!
//! **Other models: exact heap emulation** ([`Bpe::merge_general`]). Buckets by rank, a bitmap
//! over ranks to find the lowest non-empty one. The lowest bucket is taken out whole into a
//! `batch` sorted by position; a push of the batch's rank is inserted into the unprocessed part
//! of the batch at its sorted place; a push of a higher rank goes to its bucket; a push of a
//! lower rank would be the heap's next pop, so after the current entry's two pushes (which the
//! heap also makes before its next pop) the rest of the batch goes back to its bucket and the
//! minimum is searched again. By induction the pops are the heap's, entry for entry; equal
//! `(rank, pos)` entries are interchangeable.
//!
//! **Short pieces** (2 to 8 bytes; with `min_token` near 0 a chunk splits into many) are
//! memoized per [`BpeScratch`] and model.
//!
//! **Whole texts** ([`Bpe::encode_text`], [`Bpe::encode_code_points`]; module [`front`]): a
//! FAST chunk is split, spelled in units and looked up in a memo keyed by units in one pass over
//! a per-model table of the characters below U+0800, each piece then going to
//! [`Bpe::encode_units`] as above.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use crate::bpe::bytelevel::{push_utf8, token_to_bytes, BYTE_TO_CHAR};

mod backtrack;
pub(crate) mod bytelevel;
mod front;
pub(crate) mod pretokenize;
mod runs;
pub(crate) mod trainer;
mod trie;
pub(crate) mod unicode_class;
mod untrained;

use backtrack::{Backtrack, BacktrackScratch};
use front::{FrontScratch, FrontTable};
use runs::RunScratch;

/// "No symbol" in the linked list, "no merge" in rank lookups, "empty" in the rank buckets.
const NONE: u32 = u32::MAX;
/// Id of a symbol merged into its left neighbour (never a real id: ids index a `Vec`).
const DEAD: u32 = u32::MAX;

#[inline]
fn pack(left: u32, right: u32) -> u64 {
    (u64::from(left) << 32) | u64::from(right)
}

/// One slot of [`PairTable`].
#[derive(Clone, Copy, Debug)]
struct Slot {
    /// `pack(left, right)`, or [`EMPTY_KEY`].
    key: u64,
    rank: u32,
    merged: u32,
}

/// Key of an empty slot: `pack(u32::MAX, u32::MAX)` is not a pair of real ids.
const EMPTY_KEY: u64 = u64::MAX;

/// Open-addressing (linear probing) map `(left, right)` → `(rank, merged id)`, load ≤ 1/2.
#[derive(Clone, Debug)]
struct PairTable {
    slots: Box<[Slot]>,
    mask: usize,
    shift: u32,
}

impl PairTable {
    /// Inserts the merges in rank order, so for a pair listed twice the later entry wins.
    fn new(merges: &[(u32, u32)], merged_ids: &[u32]) -> Self {
        let capacity = (merges.len() * 2).next_power_of_two().max(16);
        let mut table = Self {
            slots: vec![
                Slot {
                    key: EMPTY_KEY,
                    rank: 0,
                    merged: 0,
                };
                capacity
            ]
            .into_boxed_slice(),
            mask: capacity - 1,
            shift: 64 - capacity.trailing_zeros(),
        };
        for (rank, (&(l, r), &merged)) in merges.iter().zip(merged_ids).enumerate() {
            let key = pack(l, r);
            let mut i = table.home(key);
            while table.slots[i].key != EMPTY_KEY && table.slots[i].key != key {
                i = (i + 1) & table.mask;
            }
            table.slots[i] = Slot {
                key,
                rank: rank as u32,
                merged,
            };
        }
        table
    }

    #[inline]
    fn home(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// `(rank, merged id)` of the effective merge of `(left, right)`.
    #[inline]
    fn get(&self, left: u32, right: u32) -> Option<(u32, u32)> {
        let key = pack(left, right);
        let mut i = self.home(key);
        loop {
            let slot = self.slots[i];
            if slot.key == key {
                return Some((slot.rank, slot.merged));
            }
            if slot.key == EMPTY_KEY {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The effective merges as `(left, right, merged id)`, in no particular order.
    fn entries(&self) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
        self.slots
            .iter()
            .filter(|s| s.key != EMPTY_KEY)
            .map(|s| ((s.key >> 32) as u32, s.key as u32, s.merged))
    }
}

/// `(left, right)` → rank of the effective merge, or [`NONE`].
trait PairRanks {
    fn rank(&self, left: u32, right: u32) -> u32;
}

impl PairRanks for PairTable {
    #[inline]
    fn rank(&self, left: u32, right: u32) -> u32 {
        self.get(left, right).map_or(NONE, |(rank, _)| rank)
    }
}

/// The merge ranks as a dense matrix over the ids that occur as a left (rows) and as a right
/// (columns) part of some merge; row 0 and column 0 stand for every other id and hold only
/// [`NONE`]. A lookup is three loads and no branch. FAST vocabularies use a few hundred distinct
/// parts, so the matrix is small; larger models use [`PairTable`].
#[derive(Clone, Debug)]
struct DenseRanks {
    /// Per id: its row's offset in `ranks` (0 when it is never a left part).
    row: Box<[u32]>,
    /// Per id: its column (0 when it is never a right part).
    col: Box<[u32]>,
    ranks: Box<[u32]>,
}

impl DenseRanks {
    /// Largest matrix built, in entries (4 MiB).
    const MAX_ENTRIES: usize = 1 << 20;

    fn new(vocab_len: usize, merges: &[(u32, u32)]) -> Option<Self> {
        if merges
            .iter()
            .any(|&(l, r)| l as usize >= vocab_len || r as usize >= vocab_len)
        {
            return None;
        }
        let mut row = vec![0u32; vocab_len];
        let mut col = vec![0u32; vocab_len];
        let (mut rows, mut cols) = (1u32, 1u32);
        for &(l, r) in merges {
            if row[l as usize] == 0 {
                row[l as usize] = rows;
                rows += 1;
            }
            if col[r as usize] == 0 {
                col[r as usize] = cols;
                cols += 1;
            }
        }
        let width = cols as usize;
        let entries = (rows as usize).checked_mul(width)?;
        if entries > Self::MAX_ENTRIES {
            return None;
        }
        for offset in row.iter_mut() {
            *offset *= cols;
        }
        let mut ranks = vec![NONE; entries].into_boxed_slice();
        for (rank, &(l, r)) in merges.iter().enumerate() {
            ranks[(row[l as usize] + col[r as usize]) as usize] = rank as u32;
        }
        Some(Self {
            row: row.into_boxed_slice(),
            col: col.into_boxed_slice(),
            ranks,
        })
    }
}

impl PairRanks for DenseRanks {
    #[inline]
    fn rank(&self, left: u32, right: u32) -> u32 {
        self.ranks[(self.row[left as usize] + self.col[right as usize]) as usize]
    }
}

/// A validated BPE model: vocabulary, merges and the tables derived from them.
#[derive(Clone, Debug)]
pub struct Bpe {
    /// Token strings, indexed by id.
    tokens: Vec<String>,
    /// Merges in rank order, as `(left id, right id)`.
    merges: Vec<(u32, u32)>,
    /// Merged id of each merge, by rank.
    merged_ids: Vec<u32>,
    /// `(left, right)` → `(rank, merged id)`; for a pair listed twice the later entry wins.
    table: PairTable,
    /// The same ranks as a matrix, when small enough.
    dense: Option<DenseRanks>,
    /// See the module docs: token strings distinct, merges yield their concatenation.
    consistent: bool,
    /// `consistent`, and every effective merge using a token ranks after every effective merge
    /// producing it: [`Bpe::merge_runs`] applies.
    monotone: bool,
    /// Id of each byte's byte-level symbol, if the vocabulary has it.
    byte_ids: [Option<u32>; 256],
    /// For a two-byte UTF-8 character `(b1, b2)`, at `(b1 & 0x1F) << 6 | (b2 & 0x3F)`: the token
    /// its byte symbols merge into before anything else happens to them, or [`NONE`] (see the
    /// module docs). Empty for inconsistent models.
    char_ids: Vec<u32>,
    /// The bytes each token decodes to.
    token_bytes: Vec<Vec<u8>>,
    /// The longest of `token_bytes`.
    max_token_bytes: usize,
    /// Token string → id, only needed when `ignore_merges` is set.
    whole_tokens: Option<HashMap<String, u32>>,
    /// Identifies this model (and its clones, which are equal) to the caches in [`BpeScratch`].
    uid: u64,
    /// The backtracking encoder's tables, built on first use; `None` inside when the model is
    /// outside its assumptions (see [`backtrack`]).
    backtrack: OnceLock<Option<Backtrack>>,
    /// The whole-text front end's table ([`front`]), built on first use; `None` inside when the
    /// model takes the general path.
    front: OnceLock<Option<FrontTable>>,
}

/// One symbol of the word being merged: a doubly linked list over a vector, as in `tokenizers`.
#[derive(Clone, Copy, Debug)]
struct Symbol {
    /// Token id, or [`DEAD`] once merged into the left neighbour.
    id: u32,
    /// Previous live symbol, or [`NONE`].
    prev: u32,
    /// Next live symbol, or [`NONE`].
    next: u32,
}

/// Longest piece memoized by [`PieceCache`], in bytes.
const CACHED_LEN: usize = 8;

/// Memoized encodings of short pieces for one model.
#[derive(Default)]
struct PieceCache {
    /// `uid` of the model the entries belong to (0: none; uids start at 1).
    owner: u64,
    /// Key: the piece's bytes (little-endian, zero-padded) and its length at bit 64.
    map: FxHashMap<u128, ([u32; CACHED_LEN], u8)>,
}

impl PieceCache {
    /// Entries kept before the cache starts over (bounds its memory to about 1 MiB).
    const CAPACITY: usize = 1 << 14;

    fn key(piece: &[u8]) -> u128 {
        let mut bytes = [0u8; 8];
        bytes[..piece.len()].copy_from_slice(piece);
        u128::from(u64::from_le_bytes(bytes)) | (piece.len() as u128) << 64
    }
}

/// Reusable buffers for [`Bpe::encode_piece`]: after warm-up, encoding allocates nothing.
///
/// Also memoizes short pieces; one scratch can serve several models (the memo starts over when
/// the model changes).
#[derive(Default)]
pub struct BpeScratch {
    symbols: Vec<Symbol>,
    queue: RankQueue,
    batch: Vec<u32>,
    cache: PieceCache,
    text: String,
    backtrack: BacktrackScratch,
    runs: RunScratch,
    /// The units of the piece being encoded (see [`Bpe::unit_at`]).
    units: Vec<u32>,
    /// One segment's tokens and one run's, for pieces with untrained runs ([`untrained`]).
    segment: Vec<u32>,
    middle: Vec<u32>,
    run_memo: untrained::RunMemo,
    /// UTF-8 of the piece [`Bpe::encode_chars`] passes on to [`Bpe::encode_piece`].
    bytes: Vec<u8>,
    /// Buffers and memo of [`Bpe::encode_text`], boxed: taken out and put back once per text,
    /// which moves a pointer rather than the whole struct.
    front: Option<Box<FrontScratch>>,
}

/// The bucket priority queue of merge entries (see the module docs).
///
/// Between pieces every bucket is empty and every bit clear; `dirty` records a piece in progress
/// (only observable after a panic) so the next one starts from scratch.
#[derive(Default)]
struct RankQueue {
    /// First node of each rank's list, or [`NONE`].
    heads: Vec<u32>,
    /// List nodes `(position, next node)`.
    nodes: Vec<(u32, u32)>,
    /// Bit `r` set when rank `r`'s list is non-empty.
    bits: Vec<u64>,
    /// Bit `w` set when `bits[w] != 0`.
    summary: Vec<u64>,
    dirty: bool,
}

impl RankQueue {
    /// Readies an empty queue for ranks `0..ranks`.
    fn prepare(&mut self, ranks: usize) {
        if self.dirty || self.heads.len() != ranks {
            let words = ranks.div_ceil(64);
            self.heads.clear();
            self.heads.resize(ranks, NONE);
            self.bits.clear();
            self.bits.resize(words, 0);
            self.summary.clear();
            self.summary.resize(words.div_ceil(64), 0);
        }
        self.nodes.clear();
        self.dirty = true;
    }

    #[inline]
    fn push(&mut self, rank: u32, pos: u32) {
        let r = rank as usize;
        let node = self.nodes.len() as u32;
        self.nodes.push((pos, self.heads[r]));
        self.heads[r] = node;
        self.bits[r >> 6] |= 1 << (r & 63);
        self.summary[r >> 12] |= 1 << ((r >> 6) & 63);
    }

    /// Takes the lowest non-empty rank's positions out into `batch`, sorted; returns the rank.
    fn pop_min(&mut self, batch: &mut Vec<u32>) -> Option<u32> {
        let Some(s) = self.summary.iter().position(|&w| w != 0) else {
            self.dirty = false;
            return None;
        };
        let w = (s << 6) | self.summary[s].trailing_zeros() as usize;
        let r = (w << 6) | self.bits[w].trailing_zeros() as usize;
        self.bits[w] &= self.bits[w] - 1;
        if self.bits[w] == 0 {
            self.summary[s] &= self.summary[s] - 1;
        }
        batch.clear();
        let mut node = std::mem::replace(&mut self.heads[r], NONE);
        while node != NONE {
            let (pos, next) = self.nodes[node as usize];
            batch.push(pos);
            node = next;
        }
        // Lists are last-in first-out and pushes mostly come in increasing position.
        batch.reverse();
        if batch.windows(2).any(|w| w[0] > w[1]) {
            batch.sort_unstable();
        }
        Some(r as u32)
    }
}

/// Grows `v`'s capacity to at least `n` elements (nothing when it already has them).
pub(crate) fn reserve_total<T>(v: &mut Vec<T>, n: usize) {
    v.reserve(n.saturating_sub(v.len()));
}

/// Source of [`Bpe`] uids.
static NEXT_UID: AtomicU64 = AtomicU64::new(1);

impl Bpe {
    /// Builds a model from tokens indexed by id and merges given as id pairs in rank order.
    ///
    /// The caller guarantees every merge's concatenation is a token (checked by the file reader);
    /// `ignore_merges` is the `tokenizers` option of the same name.
    pub(crate) fn new(
        tokens: Vec<String>,
        merges: Vec<(u32, u32)>,
        merged_ids: Vec<u32>,
        ignore_merges: bool,
    ) -> Self {
        assert_eq!(merges.len(), merged_ids.len(), "one merged id per merge");
        assert!(
            merges.len() < NONE as usize && tokens.len() < DEAD as usize,
            "too many merges or tokens"
        );
        let table = PairTable::new(&merges, &merged_ids);
        let dense = DenseRanks::new(tokens.len(), &merges);
        let index: HashMap<&str, u32> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i as u32))
            .collect();
        let mut byte_ids = [None; 256];
        for (b, slot) in byte_ids.iter_mut().enumerate() {
            let mut buf = [0u8; 4];
            *slot = index
                .get(BYTE_TO_CHAR[b].encode_utf8(&mut buf) as &str)
                .copied();
        }
        let token = |id: u32| tokens.get(id as usize).map(String::as_str);
        let consistent = index.len() == tokens.len()
            && table
                .entries()
                .all(|(l, r, merged)| match (token(l), token(r), token(merged)) {
                    (Some(l), Some(r), Some(m)) => {
                        m.len() == l.len() + r.len() && m.starts_with(l) && m.ends_with(r)
                    }
                    _ => false,
                });
        let monotone = consistent && {
            // Per token: the highest rank producing it and the lowest rank using it as a part.
            let mut produced = vec![None::<u32>; tokens.len()];
            let mut used = vec![u32::MAX; tokens.len()];
            for (rank, (&(l, r), &merged)) in merges.iter().zip(&merged_ids).enumerate() {
                // Only effective merges (the last entry of a repeated pair) ever apply.
                if table.get(l, r).map(|(effective, _)| effective) != Some(rank as u32) {
                    continue;
                }
                let rank = rank as u32;
                let p = &mut produced[merged as usize];
                *p = Some(p.map_or(rank, |p| p.max(rank)));
                used[l as usize] = used[l as usize].min(rank);
                used[r as usize] = used[r as usize].min(rank);
            }
            produced
                .iter()
                .zip(&used)
                .all(|(p, &u)| p.map_or(true, |p| p < u))
        };
        let char_ids = if consistent {
            // Lowest rank of a merge taking each id as its left / right part.
            let mut first_as_left = vec![u32::MAX; tokens.len()];
            let mut first_as_right = vec![u32::MAX; tokens.len()];
            for (rank, &(l, r)) in merges.iter().enumerate() {
                if table.get(l, r).map(|(effective, _)| effective) == Some(rank as u32) {
                    let rank = rank as u32;
                    first_as_left[l as usize] = first_as_left[l as usize].min(rank);
                    first_as_right[r as usize] = first_as_right[r as usize].min(rank);
                }
            }
            let mut char_ids = vec![NONE; 1 << 11];
            for lead in 0xC0..=0xDFu8 {
                for cont in 0x80..=0xBFu8 {
                    let (Some(a), Some(b)) = (byte_ids[lead as usize], byte_ids[cont as usize])
                    else {
                        continue;
                    };
                    if let Some((rank, merged)) = table.get(a, b) {
                        // Nothing touches the two bytes before they merge, and (in models that
                        // are not rank-monotone) nothing uses the character's token before the
                        // merge that makes it: then starting from the token changes no choice.
                        let merged_used =
                            first_as_left[merged as usize].min(first_as_right[merged as usize]);
                        if rank < first_as_right[a as usize]
                            && rank < first_as_left[b as usize]
                            && rank < merged_used
                        {
                            char_ids[usize::from(lead & 0x1F) << 6 | usize::from(cont & 0x3F)] =
                                merged;
                        }
                    }
                }
            }
            char_ids
        } else {
            Vec::new()
        };
        let token_bytes: Vec<Vec<u8>> = tokens
            .iter()
            .map(|t| {
                let mut out = Vec::with_capacity(t.len());
                token_to_bytes(t, &mut out);
                out
            })
            .collect();
        let max_token_bytes = token_bytes.iter().map(Vec::len).max().unwrap_or(0);
        let whole_tokens = ignore_merges.then(|| {
            tokens
                .iter()
                .enumerate()
                .map(|(i, t)| (t.clone(), i as u32))
                .collect()
        });
        Self {
            tokens,
            merges,
            merged_ids,
            table,
            dense,
            consistent,
            monotone,
            byte_ids,
            char_ids,
            token_bytes,
            max_token_bytes,
            whole_tokens,
            uid: NEXT_UID.fetch_add(1, Ordering::Relaxed),
            backtrack: OnceLock::new(),
            front: OnceLock::new(),
        }
    }

    /// Number of ids in the vocabulary.
    pub fn vocab_len(&self) -> usize {
        self.tokens.len()
    }

    /// Token strings indexed by id.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// Merges in rank order as `(left id, right id)`.
    pub fn merges(&self) -> &[(u32, u32)] {
        &self.merges
    }

    /// Whether `tokenizers`' `ignore_merges` option is set.
    pub fn ignore_merges(&self) -> bool {
        self.whole_tokens.is_some()
    }

    /// Id of byte `b`'s byte-level symbol, if the vocabulary has it.
    #[inline]
    pub fn byte_id(&self, b: u8) -> Option<u32> {
        self.byte_ids[b as usize]
    }

    /// The raw bytes token `id` decodes to.
    #[inline]
    pub fn token_bytes(&self, id: u32) -> Option<&[u8]> {
        self.token_bytes.get(id as usize).map(Vec::as_slice)
    }

    /// The length of the longest token's bytes (0 for an empty vocabulary).
    pub fn max_token_bytes(&self) -> usize {
        self.max_token_bytes
    }

    /// Makes `scratch` ready to encode pieces (and [`Bpe::encode_text`] texts) of up to `bytes`
    /// UTF-8 bytes with this model without allocating: every buffer reserved to what such a piece
    /// can need, the memo of short pieces to its full capacity (about 2 MiB of address space,
    /// touched as it fills, and 1 MiB of zeroed address space for the front end's), the
    /// backtracking search's memo of token pairs (two bits per pair of a vocabulary of up to
    /// 2048 tokens: at most 1 MiB of zeroed address space, also touched as it fills), the memo of
    /// untrained runs' tokens (about 130 KiB) and the model's backtracking tables built. Cheap
    /// when already done (a few comparisons).
    pub fn reserve(&self, scratch: &mut BpeScratch, bytes: usize) {
        let searches = self
            .backtrack
            .get_or_init(|| Backtrack::new(self))
            .is_some();
        let ranks = self.merges.len();
        let words = ranks.div_ceil(64);
        // A piece has at most `bytes` symbols, each pushed at most three times.
        let pushes = 3 * bytes;
        let BpeScratch {
            symbols,
            queue,
            batch,
            cache,
            text,
            backtrack,
            runs,
            units,
            segment,
            middle,
            run_memo,
            bytes: utf8,
            front,
        } = scratch;
        reserve_total(symbols, bytes);
        // The merge loop's queue: the run sweep for monotone models, the general one otherwise.
        if self.monotone {
            runs.reserve(bytes, ranks);
        } else {
            reserve_total(&mut queue.heads, ranks);
            reserve_total(&mut queue.bits, words);
            reserve_total(&mut queue.summary, words.div_ceil(64));
            reserve_total(&mut queue.nodes, pushes);
            reserve_total(batch, pushes);
        }
        let room = PieceCache::CAPACITY.saturating_sub(cache.map.len());
        cache.map.reserve(room);
        // Byte-level symbols are at most two UTF-8 bytes each.
        text.reserve((2 * bytes).saturating_sub(text.len()));
        if searches {
            backtrack.reserve(bytes, self);
        }
        reserve_total(units, bytes);
        reserve_total(segment, bytes);
        reserve_total(middle, bytes);
        run_memo.reserve();
        reserve_total(utf8, bytes);
        // A text of `bytes` bytes has at most as many characters.
        let _ = self.front.get_or_init(|| FrontTable::new(self));
        front.get_or_insert_with(Box::default).reserve(bytes, self);
    }

    /// Encodes one pre-tokenized piece given as UTF-8 bytes whose byte-level symbols are all in the
    /// vocabulary (the caller checks this first), appending the ids to `out`.
    pub fn encode_piece(&self, piece: &[u8], scratch: &mut BpeScratch, out: &mut Vec<u32>) {
        if let Some(whole) = &self.whole_tokens {
            scratch.text.clear();
            scratch
                .text
                .extend(piece.iter().map(|&b| BYTE_TO_CHAR[b as usize]));
            if let Some(&id) = whole.get(&scratch.text) {
                out.push(id);
                return;
            }
        }
        match piece.len() {
            0 => {}
            1 => out.push(self.byte_id_checked(piece[0])),
            n if n <= CACHED_LEN => {
                let cache = &mut scratch.cache;
                if cache.owner != self.uid {
                    cache.map.clear();
                    cache.owner = self.uid;
                }
                let key = PieceCache::key(piece);
                if let Some((ids, len)) = cache.map.get(&key) {
                    out.extend_from_slice(&ids[..*len as usize]);
                    return;
                }
                let start = out.len();
                self.encode_uncached(piece, scratch, out);
                let encoded = &out[start..];
                let mut ids = [0; CACHED_LEN];
                ids[..encoded.len()].copy_from_slice(encoded);
                let cache = &mut scratch.cache;
                if cache.map.len() >= PieceCache::CAPACITY {
                    cache.map.clear();
                }
                cache.map.insert(key, (ids, encoded.len() as u8));
            }
            _ => self.encode_uncached(piece, scratch, out),
        }
    }

    /// [`Bpe::encode_piece`] for a piece given as characters: long pieces go to the
    /// backtracking search without being spelled in UTF-8 and read back.
    pub fn encode_chars(&self, chars: &[char], scratch: &mut BpeScratch, out: &mut Vec<u32>) {
        if chars.len() <= CACHED_LEN {
            // Spelled on the stack: the memo's key is the UTF-8, and a short piece is encoded in
            // a few dozen instructions, of which a scratch vector's upkeep was a fair share.
            let mut utf8 = [0u8; 4 * CACHED_LEN];
            let mut len = 0;
            for &c in chars {
                len += c.encode_utf8(&mut utf8[len..]).len();
            }
            self.encode_piece(&utf8[..len], scratch, out);
            return;
        }
        if self.whole_tokens.is_some() {
            // `ignore_merges` looks the whole piece up first, whatever its length.
            let mut bytes = std::mem::take(&mut scratch.bytes);
            bytes.clear();
            for &c in chars {
                push_utf8(&mut bytes, c);
            }
            self.encode_piece(&bytes, scratch, out);
            scratch.bytes = bytes;
            return;
        }
        let mut units = std::mem::take(&mut scratch.units);
        units.clear();
        self.push_char_units(chars, &mut units);
        self.encode_units(&units, scratch, out);
        scratch.units = units;
    }

    /// [`Bpe::push_units`] of the UTF-8 of `chars`, without spelling it: a two-byte character's
    /// index in `char_ids` is its code point.
    fn push_char_units(&self, chars: &[char], out: &mut Vec<u32>) {
        // Most characters are one or two units: one reservation, not a check per push that
        // may grow.
        out.reserve(2 * chars.len());
        for &c in chars {
            let cp = c as u32;
            if cp < 0x80 {
                out.push(self.byte_id_checked(cp as u8));
                continue;
            }
            if cp < 0x800 {
                if let Some(&merged) = self.char_ids.get(cp as usize) {
                    if merged != NONE {
                        out.push(merged);
                        continue;
                    }
                }
                // Its two bytes, spelled directly (`encode_utf8` was a tenth of FAST+'s
                // pieces holding a character that is not pre-merged).
                out.push(self.byte_id_checked(0xC0 | (cp >> 6) as u8));
                out.push(self.byte_id_checked(0x80 | (cp & 0x3F) as u8));
                continue;
            }
            let mut buf = [0u8; 4];
            for &b in c.encode_utf8(&mut buf).as_bytes() {
                out.push(self.byte_id_checked(b));
            }
        }
    }

    #[inline]
    fn byte_id_checked(&self, b: u8) -> u32 {
        self.byte_ids[b as usize].expect("caller checked every byte is in the vocab")
    }

    /// The symbol the merge loop starts from at byte `i` of `piece`, and its width in bytes: a
    /// pre-merged two-byte character (module docs) or the byte's own symbol.
    #[inline]
    fn unit_at(&self, piece: &[u8], i: usize) -> (u32, usize) {
        let b = piece[i];
        if b & 0xE0 == 0xC0 && i + 1 < piece.len() && piece[i + 1] & 0xC0 == 0x80 {
            if let Some(&merged) = self
                .char_ids
                .get(usize::from(b & 0x1F) << 6 | usize::from(piece[i + 1] & 0x3F))
            {
                if merged != NONE {
                    return (merged, 2);
                }
            }
        }
        (self.byte_id_checked(b), 1)
    }

    /// Appends the symbols the merge loop starts from for `piece` (see [`Bpe::unit_at`]).
    fn push_units(&self, piece: &[u8], out: &mut Vec<u32>) {
        let mut i = 0;
        while i < piece.len() {
            let (id, width) = self.unit_at(piece, i);
            out.push(id);
            i += width;
        }
    }

    /// [`Bpe::encode_piece`] without the memo and the `ignore_merges` shortcut.
    fn encode_uncached(&self, piece: &[u8], scratch: &mut BpeScratch, out: &mut Vec<u32>) {
        let mut units = std::mem::take(&mut scratch.units);
        units.clear();
        self.push_units(piece, &mut units);
        self.encode_units(&units, scratch, out);
        scratch.units = units;
    }

    /// Encodes the piece spelled `units` (its symbols before any merge): the backtracking search
    /// when the model allows it and the piece has no long run, else (or if the search gives up)
    /// the merge loop, over runs for monotone models.
    fn encode_units(&self, units: &[u32], scratch: &mut BpeScratch, out: &mut Vec<u32>) {
        if self.search(units, scratch, out) {
            return;
        }
        self.merge_units(units, scratch, out);
    }

    /// The backtracking search on the piece spelled `units`, around its untrained runs if it has
    /// any ([`untrained`]); `false` when the model is outside its assumptions or the search gave
    /// up (then `out` is unchanged).
    fn search(&self, units: &[u32], scratch: &mut BpeScratch, out: &mut Vec<u32>) -> bool {
        let Some(backtrack) = self.backtrack.get_or_init(|| Backtrack::new(self)) else {
            return false;
        };
        match &self.dense {
            Some(dense) => self.search_with(backtrack, dense, units, scratch, out),
            None => self.search_with(backtrack, &self.table, units, scratch, out),
        }
    }

    fn search_with<P: PairRanks>(
        &self,
        backtrack: &Backtrack,
        ranks: &P,
        units: &[u32],
        scratch: &mut BpeScratch,
        out: &mut Vec<u32>,
    ) -> bool {
        // A run longer than SHORT_RUN needs more units than that; so does a run-heavy piece.
        let runs = if units.len() > backtrack::SHORT_RUN as usize {
            match backtrack.scan(units, true) {
                Ok(runs) => runs,
                Err(run) => {
                    return self.search_around_runs(backtrack, ranks, units, run, scratch, out)
                }
            }
        } else {
            false
        };
        backtrack.encode_walking(self, ranks, units, runs, &mut scratch.backtrack, out)
    }

    /// The merge loop on `piece` (the reference's algorithm, module docs), appending to `out`.
    fn encode_merging(&self, piece: &[u8], scratch: &mut BpeScratch, out: &mut Vec<u32>) {
        let mut units = std::mem::take(&mut scratch.units);
        units.clear();
        self.push_units(piece, &mut units);
        self.merge_units(&units, scratch, out);
        scratch.units = units;
    }

    /// The merge loop on the piece spelled `units`, appending to `out`.
    fn merge_units(&self, units: &[u32], scratch: &mut BpeScratch, out: &mut Vec<u32>) {
        if self.monotone {
            match &self.dense {
                Some(dense) => self.merge_runs(dense, units, &mut scratch.runs, out),
                None => self.merge_runs(&self.table, units, &mut scratch.runs, out),
            }
            return;
        }
        let n = units.len();
        assert!(n < NONE as usize, "piece too long");
        let symbols = &mut scratch.symbols;
        symbols.clear();
        symbols.extend(units.iter().enumerate().map(|(i, &id)| Symbol {
            id,
            prev: (i as u32).wrapping_sub(1),
            next: i as u32 + 1,
        }));
        let Some(last) = symbols.last_mut() else {
            return;
        };
        last.next = NONE;
        if symbols.len() > 1 {
            match &self.dense {
                Some(dense) => {
                    self.merge_general(dense, symbols, &mut scratch.queue, &mut scratch.batch)
                }
                None => {
                    self.merge_general(&self.table, symbols, &mut scratch.queue, &mut scratch.batch)
                }
            }
        }
        let mut pos = 0;
        loop {
            let symbol = symbols[pos];
            out.push(symbol.id);
            if symbol.next == NONE {
                break;
            }
            pos = symbol.next as usize;
        }
    }

    /// The reference merge loop, entry for entry, with a bucket queue (see the module docs).
    fn merge_general<P: PairRanks>(
        &self,
        ranks: &P,
        symbols: &mut [Symbol],
        queue: &mut RankQueue,
        batch: &mut Vec<u32>,
    ) {
        queue.prepare(self.merges.len());
        for (pos, pair) in symbols.windows(2).enumerate() {
            let rank = ranks.rank(pair[0].id, pair[1].id);
            if rank != NONE {
                queue.push(rank, pos as u32);
            }
        }
        while let Some(rank) = queue.pop_min(batch) {
            let (merge_left, merge_right) = self.merges[rank as usize];
            let new_id = self.merged_ids[rank as usize];
            let mut i = 0;
            while i < batch.len() {
                let pos = batch[i];
                i += 1;
                let current = symbols[pos as usize];
                // Merged away (then `id` is DEAD and `next` is stale but in range) or last.
                if current.next == NONE {
                    continue;
                }
                let next_pos = current.next;
                let right = symbols[next_pos as usize];
                if current.id != merge_left || right.id != merge_right {
                    // Not the pushed pair any more: stale, unless an inconsistent model maps the
                    // new pair to the same id (then do exactly what the reference does).
                    if self.consistent || current.id == DEAD {
                        continue;
                    }
                    let r = ranks.rank(current.id, right.id);
                    if r == NONE || self.merged_ids[r as usize] != new_id {
                        continue;
                    }
                }
                symbols[pos as usize].id = new_id;
                symbols[pos as usize].next = right.next;
                symbols[next_pos as usize].id = DEAD;
                if right.next != NONE {
                    symbols[right.next as usize].prev = pos;
                }
                let mut preempted = false;
                let mut push = |rank_new: u32, at: u32, batch: &mut Vec<u32>| {
                    if rank_new == rank {
                        let place = i + batch[i..].partition_point(|&p| p < at);
                        batch.insert(place, at);
                    } else {
                        preempted |= rank_new < rank;
                        queue.push(rank_new, at);
                    }
                };
                if current.prev != NONE {
                    let prev = symbols[current.prev as usize].id;
                    let r = ranks.rank(prev, new_id);
                    if r != NONE {
                        push(r, current.prev, batch);
                    }
                }
                if right.next != NONE {
                    let next = symbols[right.next as usize].id;
                    let r = ranks.rank(new_id, next);
                    if r != NONE {
                        push(r, pos, batch);
                    }
                }
                if preempted {
                    for &p in &batch[i..] {
                        queue.push(rank, p);
                    }
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use std::cmp::Ordering;
    use std::collections::BinaryHeap;

    /// A heap entry of the reference, with its order: lowest rank, then leftmost, on top.
    #[derive(Debug, PartialEq, Eq)]
    struct Merge {
        pos: usize,
        rank: u32,
        new_id: u32,
    }

    impl PartialOrd for Merge {
        fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
            Some(self.cmp(other))
        }
    }

    impl Ord for Merge {
        fn cmp(&self, other: &Self) -> Ordering {
            if self.rank != other.rank {
                other.rank.cmp(&self.rank)
            } else {
                other.pos.cmp(&self.pos)
            }
        }
    }

    /// The oracle: `tokenizers`' `BPE::merge_word` + `Word::merge_all` (no dropout) transcribed
    /// step for step, with its own `HashMap` merge map (later duplicates win).
    pub(super) fn oracle(bpe: &Bpe, piece: &[u8]) -> Vec<u32> {
        if bpe.ignore_merges() {
            let text: String = piece.iter().map(|&b| BYTE_TO_CHAR[b as usize]).collect();
            if let Some(id) = bpe.tokens.iter().rposition(|t| *t == text) {
                return vec![id as u32];
            }
        }
        let mut map: HashMap<(u32, u32), (u32, u32)> = HashMap::new();
        for (rank, (&pair, &id)) in bpe.merges.iter().zip(&bpe.merged_ids).enumerate() {
            map.insert(pair, (rank as u32, id));
        }
        #[derive(Clone, Copy)]
        struct Sym {
            c: u32,
            prev: isize,
            next: isize,
            len: usize,
        }
        let n = piece.len();
        let mut symbols: Vec<Sym> = piece
            .iter()
            .enumerate()
            .map(|(i, &b)| Sym {
                c: bpe.byte_id(b).unwrap(),
                prev: i as isize - 1,
                next: if i + 1 < n { i as isize + 1 } else { -1 },
                len: 1,
            })
            .collect();
        let mut queue: BinaryHeap<Merge> = symbols
            .windows(2)
            .enumerate()
            .filter_map(|(index, w)| {
                map.get(&(w[0].c, w[1].c)).map(|&(rank, new_id)| Merge {
                    pos: index,
                    rank,
                    new_id,
                })
            })
            .collect();
        while let Some(top) = queue.pop() {
            if symbols[top.pos].len == 0 || symbols[top.pos].next == -1 {
                continue;
            }
            let next_pos = symbols[top.pos].next as usize;
            let right = symbols[next_pos];
            let target = (symbols[top.pos].c, right.c);
            if map.get(&target).map_or(true, |&(_, id)| id != top.new_id) {
                continue;
            }
            symbols[top.pos].c = top.new_id;
            symbols[top.pos].len += right.len;
            symbols[top.pos].next = right.next;
            symbols[next_pos].len = 0;
            if right.next > -1 && (right.next as usize) < symbols.len() {
                symbols[right.next as usize].prev = top.pos as isize;
            }
            let current = symbols[top.pos];
            if current.prev >= 0 {
                let prev = current.prev as usize;
                if let Some(&(rank, new_id)) = map.get(&(symbols[prev].c, current.c)) {
                    queue.push(Merge {
                        pos: prev,
                        rank,
                        new_id,
                    });
                }
            }
            let next = current.next as usize;
            if next < symbols.len() {
                if let Some(&(rank, new_id)) = map.get(&(current.c, symbols[next].c)) {
                    queue.push(Merge {
                        pos: top.pos,
                        rank,
                        new_id,
                    });
                }
            }
        }
        symbols.iter().filter(|s| s.len != 0).map(|s| s.c).collect()
    }

    /// Vocab: a b c ab bc abc ; merges (a,b) rank 0, (ab,c) rank 1, (b,c) rank 2.
    fn toy() -> Bpe {
        let tokens: Vec<String> = ["a", "b", "c", "ab", "bc", "abc"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        Bpe::new(tokens, vec![(0, 1), (3, 2), (1, 2)], vec![3, 5, 4], false)
    }

    fn encode(bpe: &Bpe, s: &str) -> Vec<u32> {
        let mut out = Vec::new();
        bpe.encode_piece(s.as_bytes(), &mut BpeScratch::default(), &mut out);
        assert_eq!(
            out,
            oracle(bpe, s.as_bytes()),
            "fast path vs oracle on {s:?}"
        );
        out
    }

    #[test]
    fn lowest_rank_first() {
        let bpe = toy();
        assert!(bpe.consistent);
        assert_eq!(encode(&bpe, "abc"), vec![5]);
        assert_eq!(encode(&bpe, "bc"), vec![4]);
        assert_eq!(encode(&bpe, "abab"), vec![3, 3]);
        assert_eq!(encode(&bpe, "cab"), vec![2, 3]);
        assert_eq!(encode(&bpe, "a"), vec![0]);
        assert_eq!(encode(&bpe, ""), Vec::<u32>::new());
    }

    #[test]
    fn equal_ranks_merge_leftmost_without_overlap() {
        let tokens: Vec<String> = ["a", "aa"].iter().map(|s| s.to_string()).collect();
        let bpe = Bpe::new(tokens, vec![(0, 0)], vec![1], false);
        assert_eq!(encode(&bpe, "aaa"), vec![1, 0]);
        assert_eq!(encode(&bpe, "aaaa"), vec![1, 1]);
    }

    #[test]
    fn later_duplicate_merge_wins() {
        let tokens: Vec<String> = ["a", "b", "c", "ab", "bc"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // (a,b) listed at rank 0 and again at rank 2; (b,c) at rank 1: "abc" -> a bc.
        let bpe = Bpe::new(tokens, vec![(0, 1), (1, 2), (0, 1)], vec![3, 4, 3], false);
        assert_eq!(encode(&bpe, "abc"), vec![0, 4]);
    }

    #[test]
    fn ignore_merges_takes_whole_tokens() {
        let tokens: Vec<String> = ["a", "b", "c", "ab", "bc", "abc"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let bpe = Bpe::new(tokens, vec![(1, 2)], vec![4], true);
        assert_eq!(encode(&bpe, "abc"), vec![5]);
        assert_eq!(encode(&bpe, "cbc"), vec![2, 4]);
        // Pieces of more than `CACHED_LEN` characters too, through `encode_chars`.
        let long = "abcabcabcabc";
        let tokens: Vec<String> = ["a", "b", "c", "bc", long]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let bpe = Bpe::new(tokens, vec![(1, 2)], vec![3], true);
        let chars: Vec<char> = long.chars().collect();
        assert!(chars.len() > CACHED_LEN);
        let mut out = Vec::new();
        bpe.encode_chars(&chars, &mut BpeScratch::default(), &mut out);
        assert_eq!(out, vec![4]);
        assert_eq!(oracle(&bpe, long.as_bytes()), vec![4]);
    }

    #[test]
    fn lower_rank_pushed_mid_batch_preempts() {
        // Non-monotone: (ab, c) rank 1 uses "ab", which (a, b) makes at rank 2.
        // "ababc": rank 2 merges pos 0 then would merge pos 2, but merging pos 2 first creates
        // (ab, c) of rank 1 ... the heap processes that before anything of rank 2.
        let tokens: Vec<String> = ["a", "b", "c", "ab", "abc", "cab"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let bpe = Bpe::new(tokens, vec![(2, 3), (3, 2), (0, 1)], vec![5, 4, 3], false);
        assert!(bpe.consistent);
        for s in [
            "ababc", "abcab", "cabab", "abcabcab", "cababcab", "ab", "abab",
        ] {
            encode(&bpe, s);
        }
    }

    #[test]
    fn scratch_reused_across_models_and_pieces() {
        let small = toy();
        let tokens: Vec<String> = ["a", "b", "c", "ab", "bc", "abc"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // Same vocabulary, other merges: the memo must not serve one model's ids to the other.
        let other = Bpe::new(tokens, vec![(1, 2)], vec![4], false);
        let mut scratch = BpeScratch::default();
        for (bpe, s) in [
            (&small, "abcabc"),
            (&other, "abcabc"),
            (&small, "abc"),
            (&other, "abc"),
            (&small, "abc"),
            (&other, "a"),
            (&small, "ababababab"),
            (&other, "ababababab"),
            (&small, "abc"),
        ] {
            let mut out = Vec::new();
            bpe.encode_piece(s.as_bytes(), &mut scratch, &mut out);
            assert_eq!(out, oracle(bpe, s.as_bytes()), "{s}");
        }
        // A clone is the same model and may share the memo.
        let clone = small.clone();
        let mut out = Vec::new();
        clone.encode_piece(b"abc", &mut scratch, &mut out);
        assert_eq!(out, vec![5]);
    }

    #[test]
    fn memo_starts_over_when_full() {
        // Every byte-level symbol, plus merges of a few of them.
        let mut tokens: Vec<String> = BYTE_TO_CHAR.iter().map(|c| c.to_string()).collect();
        tokens.extend(["ab", "abc"].map(String::from));
        let bpe = Bpe::new(tokens, vec![(97, 98), (256, 99)], vec![256, 257], false);
        let mut scratch = BpeScratch::default();
        for i in 0..PieceCache::CAPACITY as u32 + 100 {
            let word = i.wrapping_mul(2_654_435_761).to_le_bytes();
            let piece = [&word[..], b"abc"].concat();
            let mut out = Vec::new();
            bpe.encode_piece(&piece[i as usize % 5..], &mut scratch, &mut out);
            assert_eq!(out, oracle(&bpe, &piece[i as usize % 5..]));
            assert!(scratch.cache.map.len() <= PieceCache::CAPACITY);
        }
    }

    #[test]
    fn random_models_cover_both_merge_loops() {
        // The consistent-model strategy below must produce monotone models (sweep) and others
        // (heap emulation) in fair numbers.
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (mut monotone, mut total) = (0, 0);
        for _ in 0..300 {
            let (picks, duplicates, swaps) =
                model_strategy().new_tree(&mut runner).unwrap().current();
            let bpe = consistent_model(&picks, &duplicates, &swaps, false);
            total += 1;
            monotone += usize::from(bpe.monotone);
        }
        assert!(
            monotone >= total / 5 && total - monotone >= total / 5,
            "{monotone}/{total}"
        );
    }

    /// Raw bytes the random models are built on: ASCII letters plus the UTF-8 bytes of a few
    /// characters FAST uses (U+0162 = C5 A2, U+0161 = C5 A1, U+0100 = C4 80).
    pub(super) const BYTES: [u8; 7] = [b'a', b'b', b'c', 0xC5, 0xA2, 0xA1, 0xC4];

    /// A random consistent model: the byte-level symbols of `BYTES`, then merges of random
    /// existing tokens (reusing the id when the concatenation already exists), with some merges
    /// listed twice, and the list partly shuffled (so it is generally not rank-monotone).
    pub(super) fn consistent_model(
        picks: &[(usize, usize)],
        duplicates: &[usize],
        swaps: &[(usize, usize)],
        ignore_merges: bool,
    ) -> Bpe {
        let mut tokens: Vec<String> = BYTES
            .iter()
            .map(|&b| BYTE_TO_CHAR[b as usize].to_string())
            .collect();
        let mut merges: Vec<(u32, u32)> = Vec::new();
        let mut merged_ids = Vec::new();
        for &(a, b) in picks {
            let (l, r) = (a % tokens.len(), b % tokens.len());
            let joined = format!("{}{}", tokens[l], tokens[r]);
            let id = match tokens.iter().position(|t| *t == joined) {
                Some(id) => id,
                None => {
                    tokens.push(joined);
                    tokens.len() - 1
                }
            };
            merges.push((l as u32, r as u32));
            merged_ids.push(id as u32);
        }
        if !merges.is_empty() {
            for &d in duplicates {
                let d = d % merges.len();
                merges.push(merges[d]);
                merged_ids.push(merged_ids[d]);
            }
            for &(x, y) in swaps {
                let (x, y) = (x % merges.len(), y % merges.len());
                merges.swap(x, y);
                merged_ids.swap(x, y);
            }
        }
        let bpe = Bpe::new(tokens, merges, merged_ids, ignore_merges);
        assert!(bpe.consistent);
        bpe
    }

    /// [`consistent_model`]'s merges on a vocabulary holding every byte's symbol (so any text
    /// can be encoded), as consistent and as monotone as that model.
    pub(super) fn all_bytes_model(
        picks: &[(usize, usize)],
        duplicates: &[usize],
        swaps: &[(usize, usize)],
        ignore_merges: bool,
    ) -> Bpe {
        let mut tokens: Vec<String> = BYTE_TO_CHAR.iter().map(|c| c.to_string()).collect();
        let base = consistent_model(picks, duplicates, swaps, false);
        // The random model's merges, re-indexed onto a vocabulary holding every byte.
        let offset = tokens.len() as u32;
        let remap = |id: u32| {
            let text = &base.tokens[id as usize];
            match BYTE_TO_CHAR.iter().position(|c| c.to_string() == *text) {
                Some(b) => b as u32,
                None => id + offset,
            }
        };
        // Byte symbols of the random model are already there: leave unused names instead.
        tokens.extend(base.tokens.iter().enumerate().map(|(i, t)| {
            if remap(i as u32) < offset {
                format!("<unused{i}>")
            } else {
                t.clone()
            }
        }));
        let merges = base
            .merges
            .iter()
            .map(|&(l, r)| (remap(l), remap(r)))
            .collect();
        let merged = base.merged_ids.iter().map(|&m| remap(m)).collect();
        let bpe = Bpe::new(tokens, merges, merged, ignore_merges);
        assert!(bpe.consistent);
        assert_eq!(bpe.monotone, base.monotone);
        bpe
    }

    #[allow(clippy::type_complexity)]
    pub(super) fn model_strategy(
    ) -> impl Strategy<Value = (Vec<(usize, usize)>, Vec<usize>, Vec<(usize, usize)>)> {
        (
            prop::collection::vec((0usize..64, 0usize..64), 0..60),
            prop::collection::vec(0usize..64, 0..3),
            prop_oneof![
                Just(Vec::new()),
                prop::collection::vec((0usize..64, 0usize..64), 0..20)
            ],
        )
    }

    pub(super) fn piece_strategy() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(prop::sample::select(BYTES.to_vec()), 0..40),
            prop::collection::vec(prop::sample::select(BYTES.to_vec()), 40..400),
            // Repeated symbols and repeated short patterns.
            (1usize..200, prop::sample::select(BYTES.to_vec())).prop_map(|(n, b)| vec![b; n]),
            (
                1usize..100,
                prop::collection::vec(prop::sample::select(BYTES.to_vec()), 1..4)
            )
                .prop_map(|(n, p)| p.repeat(n)),
            (1usize..300).prop_map(|n| "\u{162}".repeat(n).into_bytes()),
        ]
    }

    /// Encodes every piece twice with one scratch (the second time short pieces come from the
    /// memo) and compares both with the oracle.
    fn check(bpe: &Bpe, pieces: &[Vec<u8>], scratch: &mut BpeScratch) -> Result<(), TestCaseError> {
        for _ in 0..2 {
            for piece in pieces {
                let mut out = vec![7];
                bpe.encode_piece(piece, scratch, &mut out);
                prop_assert_eq!(&out[1..], &oracle(bpe, piece)[..], "piece {:?}", piece);
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn matches_oracle_on_consistent_models(
            (picks, duplicates, swaps) in model_strategy(),
            ignore_merges in prop::bool::weighted(0.1),
            pieces in prop::collection::vec(piece_strategy(), 1..8),
        ) {
            let bpe = consistent_model(&picks, &duplicates, &swaps, ignore_merges);
            check(&bpe, &pieces, &mut BpeScratch::default())?;
        }

        #[test]
        fn matches_oracle_on_arbitrary_models(
            extra in 0usize..12,
            merges in prop::collection::vec((0u32..19, 0u32..19, 0u32..19), 0..40),
            pieces in prop::collection::vec(piece_strategy(), 1..8),
        ) {
            // Any merged id, including ids of unrelated tokens or of a part: the fast path must
            // still do exactly what the reference does.
            let mut tokens: Vec<String> = BYTES
                .iter()
                .map(|&b| BYTE_TO_CHAR[b as usize].to_string())
                .collect();
            tokens.extend((0..extra).map(|i| format!("t{i}")));
            let len = tokens.len() as u32;
            let (pairs, ids): (Vec<_>, Vec<_>) =
                merges.iter().map(|&(l, r, m)| ((l % len, r % len), m % len)).unzip();
            let bpe = Bpe::new(tokens, pairs, ids, false);
            check(&bpe, &pieces, &mut BpeScratch::default())?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Units read off characters are the units read off their UTF-8, and `encode_chars`
        /// gives the reference's ids (short pieces, long ones, 1- to 4-byte characters).
        #[test]
        fn encode_chars_matches_the_oracle(
            (picks, duplicates, swaps) in model_strategy(),
            ignore_merges in prop::bool::weighted(0.2),
            texts in prop::collection::vec(
                prop::collection::vec(
                    prop_oneof![
                        Just('a'), Just('b'), Just('\u{162}'), Just('\u{161}'), Just('\u{100}'),
                        Just('\u{1F600}'), Just('\u{20AC}'), Just('\u{7FF}')
                    ],
                    0..60,
                ),
                1..6,
            ),
        ) {
            let bpe = all_bytes_model(&picks, &duplicates, &swaps, ignore_merges);
            let mut scratch = BpeScratch::default();
            // With `ignore_merges`, pieces that are whole tokens too, short and long.
            let mut texts = texts.clone();
            if ignore_merges {
                texts.extend(
                    bpe.tokens
                        .iter()
                        .filter(|t| !t.starts_with("<unused"))
                        .filter_map(|t| {
                            let mut bytes = Vec::new();
                            token_to_bytes(t, &mut bytes);
                            String::from_utf8(bytes).ok().map(|s| s.chars().collect())
                        }),
                );
            }
            for chars in &texts {
                let text: String = chars.iter().collect();
                let (mut from_chars, mut from_bytes) = (Vec::new(), Vec::new());
                bpe.push_char_units(chars, &mut from_chars);
                bpe.push_units(text.as_bytes(), &mut from_bytes);
                prop_assert_eq!(&from_chars, &from_bytes);
                let mut out = Vec::new();
                bpe.encode_chars(chars, &mut scratch, &mut out);
                prop_assert_eq!(out, oracle(&bpe, text.as_bytes()), "{:?}", text);
            }
        }
    }

    /// Pieces drawn from the characters a FAST chunk produces with `min_token = -354`: mostly
    /// U+0162 (zero) and its neighbours, sometimes a long way off.
    fn fast_piece(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed;
        let mut text = String::new();
        for _ in 0..len {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let r = (state >> 33) as u32;
            let offset = match r % 10 {
                0..=4 => 0,
                5..=7 => (r >> 8) % 7,
                _ => (r >> 8) % 150,
            } as i64;
            let sign = if (r >> 20) & 1 == 0 { 1 } else { -1 };
            text.push(char::from_u32((0x162 + sign * offset) as u32).unwrap());
        }
        text.into_bytes()
    }

    /// The demo tokenizer committed in the package; a test using it fails if it is missing.
    pub(super) fn demo_tokenizer() -> Bpe {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../python/actok/data/robosuite_fast/tokenizer.json"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!("the demo tokenizer {path} (committed in the package) cannot be read: {e}")
        });
        let (bpe, _) =
            crate::format::tokenizer_json::parse(&text, std::path::Path::new(path)).unwrap();
        bpe
    }

    /// FAST-like pieces of lengths 1 to 1400 for seeds `0..count`, those `bpe` can encode, with
    /// their seed.
    pub(super) fn demo_pieces(bpe: &Bpe, count: u64) -> impl Iterator<Item = (u64, Vec<u8>)> + '_ {
        (0..count)
            .map(|seed| {
                let len = [1, 2, 3, 7, 20, 100, 700, 1400][seed as usize % 8];
                (seed, fast_piece(seed, len))
            })
            .filter(|(_, piece)| piece.iter().all(|&b| bpe.byte_id(b).is_some()))
    }

    #[test]
    fn matches_oracle_on_the_demo_tokenizer() {
        let bpe = demo_tokenizer();
        assert!(bpe.consistent);
        let mut scratch = BpeScratch::default();
        for (seed, piece) in demo_pieces(&bpe, 300) {
            let mut out = Vec::new();
            bpe.encode_piece(&piece, &mut scratch, &mut out);
            assert_eq!(out, oracle(&bpe, &piece), "seed {seed}");
        }
    }
}
