//! A linear-time encoder that returns exactly the merge loop's result, for trainer-written models.
//!
//! The merge loop applies hundreds of merges to a long FAST piece (a chunk of 700 characters
//! becomes ~35 tokens). This encoder instead searches for the answer directly, the
//! "backtracking" idea of GitHub's `bpe` crate, here with our own proof and checks.
//!
//! # Why it is exact
//!
//! Assume the model is *monotone* and consistent (module docs of [`super`]) and every merged
//! token has one effective merge producing it, so each token has one merge tree. Call a token
//! *valid* when the merge loop turns its own bytes into that one token, and an adjacent pair
//! `(t1, t2)` *compatible* when the merge loop turns the bytes of `t1 t2` into `[t1, t2]`.
//!
//! **Lemma.** A tokenization `U` of a piece whose tokens are all valid and whose adjacent pairs
//! are all compatible is the merge loop's result.
//!
//! *Proof.* In a monotone model the loop processes ranks in increasing order, and within a rank
//! its occurrences from left to right (the sweep of [`super::Bpe::merge_runs`]). Suppose some
//! merge crosses a boundary of `U`, and take the first such merge, of rank `c`, between spans
//! `u_i` and `u_{i+1}`. Before it, every merge was inside a span, so each span's state was that of
//! its own isolated run after ranks `< c` (the rank-`c` merges inside `u_i` to the left of the
//! crossing are also the same, because nothing crossed at the boundary before `u_i`). Run the loop
//! on `u_i u_{i+1}` alone: up to rank `c` it does the same inside the two spans (a crossing merge
//! of lower rank there would have found the same two boundary symbols in the whole piece), so at
//! rank `c` it finds the same crossing pair with the same left context and merges it: `t1 t2` does
//! not become `[u_i, u_{i+1}]`, contradicting compatibility. So no merge crosses a boundary, each
//! span runs as in isolation, and by validity ends as its token. ∎
//!
//! The search below (greedy longest match, shorter prefixes, backtracking) only ever emits
//! tokenizations made of valid tokens with compatible pairs, so whatever it returns is the
//! merge loop's result. It marks a position as a dead end after failing there, which keeps it
//! linear but could in principle make it give up; it then reports failure and the caller runs
//! the merge loop. Nothing depends on the marking being sound.
//!
//! # Compatibility without running the loop
//!
//! [`Backtrack::compatible`] replays the boundary of `t1 t2` backwards through the two merge
//! trees: the pair of boundary symbols changes when the left spine or the right spine grows,
//! whichever merge ranks later being undone first. A boundary pair `(x, y)` whose own merge has
//! rank `r` would merge across the boundary if `r` is below the rank of the event that ended it:
//! strictly below when that event grew `x` (the loop's leftmost rule favours the left occurrence
//! of an equal-rank pair), at most equal when it grew `y`. This is checked against the merge loop
//! on every pair of random models in the tests.
//!
//! # Units
//!
//! The search runs over the piece's *units*, the symbols the merge loop starts from: bytes, and
//! the pre-merged two-byte characters of the module docs of [`super`]. No token of the result
//! splits a pre-merged character (its bytes merge with each other first), so matching units loses
//! nothing and halves the work on FAST pieces.

use super::trie::{Trie, TrieBuilder};
use super::{Bpe, BpeScratch, PairRanks, NONE};

/// Per token: its merge tree and its place in the trie's prefix chain.
#[derive(Clone, Copy, Debug)]
struct TokenInfo {
    /// Rank of the merge producing the token plus one; 0 for a byte symbol.
    key: u32,
    /// The merge's parts (unused for byte symbols).
    left: u32,
    right: u32,
    /// Longest valid token that is a proper prefix of this one, in units, or [`NONE`].
    shorter: u32,
    /// Length in units.
    units: u32,
}

/// The tables of the backtracking encoder for one model (built once, on first use).
#[derive(Clone, Debug)]
pub(super) struct Backtrack {
    info: Vec<TokenInfo>,
    /// Per unit `u`: the longest run of `u` the search takes on, `max(k + 1, SHORT_RUN)` where
    /// `u^k` is the longest run of `u` that is a valid token (see [`Self::untrained_run`]).
    run_limit: Vec<u32>,
    /// The valid tokens, spelled in units.
    trie: Trie,
}

/// Buffers of the backtracking encoder, kept in [`BpeScratch`].
#[derive(Default, Debug)]
pub(super) struct BacktrackScratch {
    tokens: Vec<u32>,
    /// `dead[i] == epoch`: the search failed from unit `i` once already in this piece. Stamps
    /// rather than flags, so a piece starts without clearing what the last one marked (a call to
    /// `memset` was a tenth of a short piece's search).
    dead: Vec<u32>,
    /// The stamp of the piece being encoded (never 0, the value of fresh slots).
    epoch: u32,
    /// Answers of [`Backtrack::compatible`] already computed.
    memo: PairMemo,
}

impl BacktrackScratch {
    /// Reserves every buffer for pieces of up to `units` units of `bpe` (see [`Bpe::reserve`]).
    pub(super) fn reserve(&mut self, units: usize, bpe: &Bpe) {
        use super::reserve_total;
        reserve_total(&mut self.tokens, units);
        reserve_total(&mut self.dead, units + 1);
        self.memo.prepare(bpe);
    }
}

/// Memo of [`Backtrack::compatible`] for one model. FAST chunks meet the same pairs again and
/// again, and a noisy batch meets tens of thousands of distinct ones: for vocabularies of up to
/// [`DENSE_MEMO_VOCAB`] tokens every pair has its own two bits (256 KiB for 1024 tokens, 1 MiB
/// for FAST+'s 2048; zeroed pages are only touched as pairs come up), so no answer is ever
/// computed twice and a lookup is one load and a shift. Larger vocabularies use a direct-mapped
/// hash table, which forgets on collisions.
#[derive(Default, Debug)]
struct PairMemo {
    /// `uid` of the model the entries belong to (0: none; uids start at 1).
    owner: u64,
    /// The model's vocabulary size when `dense` is used, 0 when `hashed` is.
    width: usize,
    /// Two bits per pair `(t1, t2)` at index `t1 * width + t2`: 0 unknown, [`MEMO_NO`] or
    /// [`MEMO_YES`].
    dense: Vec<u8>,
    /// `t1 << 33 | t2 << 1 | answer`, or [`MEMO_EMPTY`].
    hashed: Vec<u64>,
}

/// Largest vocabulary given a dense [`PairMemo`].
const DENSE_MEMO_VOCAB: usize = 2048;
/// Dense memo state: computed, not compatible.
const MEMO_NO: u8 = 2;
/// Dense memo state: computed, compatible.
const MEMO_YES: u8 = 3;

impl PairMemo {
    /// Readies the memo for `bpe`: kept if it already belongs to it, else started over. (Called
    /// per piece: the check inlined, the rare start over not, which had kept the whole function
    /// out of line, a call per piece.)
    #[inline(always)]
    fn prepare(&mut self, bpe: &Bpe) {
        if self.owner != bpe.uid {
            self.start_over(bpe);
        }
    }

    /// [`PairMemo::prepare`] for a model it does not belong to yet.
    #[cold]
    #[inline(never)]
    fn start_over(&mut self, bpe: &Bpe) {
        let vocab = bpe.tokens.len();
        if (1..=DENSE_MEMO_VOCAB).contains(&vocab) {
            self.width = vocab;
            // A fresh zeroed allocation: large ones are mapped, not written.
            self.dense = vec![0; (vocab * vocab).div_ceil(4)];
            self.hashed = Vec::new();
        } else {
            self.width = 0;
            self.dense = Vec::new();
            self.hashed.clear();
            self.hashed.resize(MEMO_LEN, MEMO_EMPTY);
        }
        self.owner = bpe.uid;
    }
}

/// Runs of one unit up to this long are always left to the search: it walks them quickly even
/// when the vocabulary has no run of that unit.
pub(super) const SHORT_RUN: u32 = 16;

/// A piece walks the trie with the heavy edge first when at least one unit in [`RUN_SHARE`] is
/// past the [`LONG_RUN`]th unit of its run. Pieces of smooth FAST chunks are 26% (10x14) to 93%
/// (160x2) units in runs of 8 or more, noisy ones 0.5% (10x2) to 14% (160x14); the heavy edge
/// first made 160x2 smooth chunks 12.8 ns per value against 17.0 for the matrix alone, and the
/// matrix alone 160x14 noisy chunks 16.4 against 17.9 (half the mispredicted branches).
const LONG_RUN: u32 = 8;
/// See [`LONG_RUN`].
const RUN_SHARE: usize = 2;

/// Entries of [`PairMemo::hashed`] (128 KiB, in L2; a quarter of it measured 11% slower).
const MEMO_LEN: usize = 1 << 14;
/// An empty memo entry: it would stand for `t2 = 2^32 - 1`, which is [`NONE`], never an id.
const MEMO_EMPTY: u64 = u64::MAX;

impl Backtrack {
    /// The tables, or `None` when the model is outside the lemma's assumptions: not monotone
    /// (which implies consistent), `ignore_merges`, or a token produced by two merges.
    pub(super) fn new(bpe: &Bpe) -> Option<Self> {
        if !bpe.monotone || bpe.whole_tokens.is_some() {
            return None;
        }
        let n = bpe.tokens.len();
        let mut info = vec![
            TokenInfo {
                key: NONE,
                left: NONE,
                right: NONE,
                shorter: NONE,
                units: 0,
            };
            n
        ];
        for &id in bpe.byte_ids.iter().flatten() {
            info[id as usize].key = 0;
        }
        for (rank, (&(l, r), &merged)) in bpe.merges.iter().zip(&bpe.merged_ids).enumerate() {
            if bpe.table.get(l, r).map(|(effective, _)| effective) != Some(rank as u32) {
                continue;
            }
            let slot = &mut info[merged as usize];
            if slot.key != NONE {
                // Produced twice (or a byte symbol produced by a merge): no unique tree.
                return None;
            }
            *slot = TokenInfo {
                key: rank as u32 + 1,
                left: l,
                right: r,
                shorter: NONE,
                units: 0,
            };
        }
        // Valid tokens go into the trie, spelled in units.
        let mut scratch = BpeScratch::default();
        let mut encoded = Vec::new();
        // Each valid token with its spelling in units.
        let mut valid: Vec<(u32, Vec<u32>)> = Vec::new();
        let mut builder = TrieBuilder::new(n);
        let mut longest_run = vec![0u32; n];
        for id in 0..n as u32 {
            if info[id as usize].key == NONE {
                continue;
            }
            let bytes = &bpe.token_bytes[id as usize];
            if bytes.iter().any(|&b| bpe.byte_ids[b as usize].is_none()) {
                continue;
            }
            encoded.clear();
            bpe.encode_merging(bytes, &mut scratch, &mut encoded);
            if encoded != [id] {
                continue;
            }
            let mut spelled = Vec::new();
            bpe.push_units(bytes, &mut spelled);
            builder.insert(&spelled, id);
            info[id as usize].units = spelled.len() as u32;
            if spelled.iter().all(|&u| u == spelled[0]) {
                let run = &mut longest_run[spelled[0] as usize];
                *run = (*run).max(spelled.len() as u32);
            }
            valid.push((id, spelled));
        }
        let trie = builder.build();
        // A token's longest valid proper prefix: the longest match in its spelling minus the
        // last unit.
        for (id, spelled) in &valid {
            let proper = &spelled[..spelled.len() - 1];
            info[*id as usize].shorter = if proper.is_empty() {
                NONE
            } else {
                trie.longest_match::<true>(proper, 0)
                    .map_or(NONE, |(token, _)| token)
            };
        }
        let run_limit = longest_run
            .iter()
            .map(|&k| (k + 1).max(SHORT_RUN))
            .collect();
        Some(Self {
            info,
            run_limit,
            trie,
        })
    }

    /// Whether the merge loop turns the bytes of `t1 t2` into `[t1, t2]` (module docs). Out of
    /// line: the search asks [`Self::compatible_memo`], which rarely gets here.
    #[inline(never)]
    fn compatible<P: PairRanks>(&self, ranks: &P, mut t1: u32, mut t2: u32) -> bool {
        // Crossing merges of rank below `limit` happen before the boundary pair changes.
        let mut limit = u32::MAX;
        loop {
            if ranks.rank(t1, t2) < limit {
                return false;
            }
            let (a, b) = (self.info[t1 as usize], self.info[t2 as usize]);
            if a.key == 0 && b.key == 0 {
                return true;
            }
            if a.key > b.key {
                // `t1` was made last: before, its right part met `t2`, until rank `a.key - 1`.
                limit = a.key - 1;
                t1 = a.right;
            } else {
                // `t2` was made last: before, `t1` met its left part, up to and including its rank.
                limit = b.key;
                t2 = b.left;
            }
        }
    }

    /// The first run of one unit longer than [`SHORT_RUN`] and than any valid token spelled by
    /// that unit alone, counted from `from` on, as `(start, length)` with the run's whole length:
    /// the search would walk such a run many times over, backtracking, when the training never
    /// showed it. (A short run costs the search little even then.)
    #[inline]
    pub(super) fn untrained_run(&self, units: &[u32], from: usize) -> Option<(usize, usize)> {
        let (start, len) = self.scan(&units[from..], true).err()?;
        Some((from + start, len))
    }

    /// Whether the piece spelled `units` is mostly long runs (at least one unit in
    /// [`RUN_SHARE`] past the [`LONG_RUN`]th of its run), which picks the trie walk with the
    /// heavy edge first (see [`Trie::longest_match`]); pieces of up to [`SHORT_RUN`] units walk
    /// the matrix.
    #[inline]
    fn run_heavy(&self, units: &[u32]) -> bool {
        units.len() > SHORT_RUN as usize && matches!(self.scan(units, false), Ok(true))
    }

    /// One pass over `units`: `Ok(run_heavy)` ([`Self::run_heavy`]), or, when `untrained` is
    /// set and the piece has an untrained run, `Err` of the first ([`Self::untrained_run`]).
    /// One pass for both: two cost long pieces of smooth chunks 4% more instructions.
    #[inline]
    pub(super) fn scan(&self, units: &[u32], untrained: bool) -> Result<bool, (usize, usize)> {
        let mut run = 0u32;
        let mut previous = NONE;
        // Units past the [`LONG_RUN`]th of their run: counted without a branch.
        let mut deep = 0usize;
        for (i, &unit) in units.iter().enumerate() {
            run = if unit == previous { run + 1 } else { 1 };
            previous = unit;
            deep += usize::from(run > LONG_RUN);
            if untrained && run > self.run_limit[unit as usize] {
                let tail = units[i + 1..].iter().take_while(|&&u| u == unit).count();
                return Err((i + 1 - run as usize, run as usize + tail));
            }
        }
        Ok(deep * RUN_SHARE >= units.len())
    }

    /// The longest run of `unit` the search takes on (see [`Self::untrained_run`]).
    #[inline]
    pub(super) fn run_limit(&self, unit: u32) -> usize {
        self.run_limit[unit as usize] as usize
    }

    /// Length in units of token `id` if it is valid (the merge loop leaves its own bytes whole),
    /// else 0.
    #[inline]
    pub(super) fn valid_units(&self, id: u32) -> usize {
        self.info
            .get(id as usize)
            .map_or(0, |info| info.units as usize)
    }

    /// [`Backtrack::compatible`] of `(t1, t2)`, through the scratch's memo.
    #[inline]
    pub(super) fn compatible_pair<P: PairRanks>(
        &self,
        bpe: &Bpe,
        ranks: &P,
        scratch: &mut BacktrackScratch,
        t1: u32,
        t2: u32,
    ) -> bool {
        scratch.memo.prepare(bpe);
        self.compatible_memo(ranks, &mut scratch.memo, t1, t2)
    }

    /// [`Backtrack::compatible`] through the memo (prepared for this model; in the hashed form,
    /// ids of 2^31 and above are not memoized). Always inlined: a call per pair was 8% of the
    /// search on noisy pieces.
    #[inline(always)]
    fn compatible_memo<P: PairRanks>(
        &self,
        ranks: &P,
        memo: &mut PairMemo,
        t1: u32,
        t2: u32,
    ) -> bool {
        if memo.width != 0 {
            let i = t1 as usize * memo.width + t2 as usize;
            let shift = (i & 3) * 2;
            let state = (memo.dense[i >> 2] >> shift) & 3;
            if state != 0 {
                return state == MEMO_YES;
            }
            let answer = self.compatible(ranks, t1, t2);
            let state = if answer { MEMO_YES } else { MEMO_NO };
            memo.dense[i >> 2] |= state << shift;
            return answer;
        }
        if t1 >= 1 << 31 {
            return self.compatible(ranks, t1, t2);
        }
        let key = u64::from(t1) << 33 | u64::from(t2) << 1;
        let slot =
            (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - MEMO_LEN.trailing_zeros())) as usize;
        let entry = memo.hashed[slot];
        if entry != MEMO_EMPTY && entry & !1 == key {
            return entry & 1 == 1;
        }
        let answer = self.compatible(ranks, t1, t2);
        memo.hashed[slot] = key | u64::from(answer);
        answer
    }

    /// Encodes the piece spelled `units`, appending the ids to `out`; returns `false` (and
    /// leaves `out` as it was) if the search gave up, which the caller answers by running the
    /// merge loop. The caller leaves out untrained runs ([`Self::untrained_run`]); the search
    /// gives up after a work budget proportional to the piece (module docs of [`super`]).
    pub(super) fn encode<P: PairRanks>(
        &self,
        bpe: &Bpe,
        ranks: &P,
        units: &[u32],
        scratch: &mut BacktrackScratch,
        out: &mut Vec<u32>,
    ) -> bool {
        self.encode_walking(bpe, ranks, units, self.run_heavy(units), scratch, out)
    }

    /// [`Self::encode`] with the trie walk chosen by the caller (`runs`: [`Self::run_heavy`]).
    pub(super) fn encode_walking<P: PairRanks>(
        &self,
        bpe: &Bpe,
        ranks: &P,
        units: &[u32],
        runs: bool,
        scratch: &mut BacktrackScratch,
        out: &mut Vec<u32>,
    ) -> bool {
        // Pieces the search suits take well under one try per unit; a piece that needs far more
        // is left to the run sweep, which is linear.
        let budget = 2 * units.len() + 64;
        if runs {
            self.encode_within::<P, true>(bpe, ranks, units, budget, scratch, out)
        } else {
            self.encode_within::<P, false>(bpe, ranks, units, budget, scratch, out)
        }
    }

    /// [`Self::encode`] with at most `budget` tries (candidate tokens) before giving up; `RUNS`
    /// picks the trie walk (same result, see [`Trie::longest_match`]).
    fn encode_within<P: PairRanks, const RUNS: bool>(
        &self,
        bpe: &Bpe,
        ranks: &P,
        units: &[u32],
        budget: usize,
        scratch: &mut BacktrackScratch,
        out: &mut Vec<u32>,
    ) -> bool {
        let BacktrackScratch {
            tokens,
            dead,
            epoch,
            memo,
        } = scratch;
        memo.prepare(bpe);
        let n = units.len();
        *epoch = epoch.wrapping_add(1);
        if *epoch == 0 {
            dead.fill(0);
            *epoch = 1;
        }
        if dead.len() <= n {
            dead.resize(n + 1, 0);
        }
        let epoch = *epoch;
        tokens.clear();
        let mut pos = 0;
        let mut next = if n > 0 {
            self.trie.longest_match::<RUNS>(units, 0)
        } else {
            None
        };
        let mut tries = 0usize;
        while let Some((mut token, mut len)) = next {
            let last = tokens.last().copied();
            loop {
                tries += 1;
                if tries > budget {
                    return false;
                }
                // A `match`, not `map_or`: with the memo lookup inlined the closure was too big
                // and `map_or` became a call per try (9% of a noisy chunk).
                let fits = match last {
                    None => true,
                    Some(l) => self.compatible_memo(ranks, memo, l, token),
                };
                if dead[pos + len] != epoch && fits {
                    tokens.push(token);
                    pos += len;
                    next = if pos < n {
                        self.trie.longest_match::<RUNS>(units, pos)
                    } else {
                        None
                    };
                    break;
                }
                let shorter = self.info[token as usize].shorter;
                if shorter != NONE {
                    token = shorter;
                    len = self.info[token as usize].units as usize;
                    continue;
                }
                // Nothing works from `pos` after `last`: give `last` up and try its prefixes.
                dead[pos] = epoch;
                next = tokens.pop().map(|l| {
                    let l_len = self.info[l as usize].units as usize;
                    pos -= l_len;
                    (l, l_len)
                });
                break;
            }
        }
        if pos != n {
            return false;
        }
        out.extend_from_slice(tokens);
        true
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{demo_pieces, demo_tokenizer, oracle, piece_strategy, BYTES};
    use super::*;
    use crate::bpe::bytelevel::BYTE_TO_CHAR;
    use proptest::prelude::*;

    /// A random model with one merge tree per token, as a BPE trainer writes: the byte-level
    /// symbols of `BYTES`, then merges of two existing tokens whose concatenation is new.
    pub(in crate::bpe) fn tree_model(picks: &[(usize, usize)]) -> Bpe {
        let mut tokens: Vec<String> = BYTES
            .iter()
            .map(|&b| BYTE_TO_CHAR[b as usize].to_string())
            .collect();
        let (mut merges, mut merged_ids) = (Vec::new(), Vec::new());
        for &(a, b) in picks {
            let (l, r) = (a % tokens.len(), b % tokens.len());
            let joined = format!("{}{}", tokens[l], tokens[r]);
            if tokens.contains(&joined) {
                continue;
            }
            tokens.push(joined);
            merges.push((l as u32, r as u32));
            merged_ids.push(tokens.len() as u32 - 1);
        }
        Bpe::new(tokens, merges, merged_ids, false)
    }

    /// A run longer than `SHORT_RUN` of a unit without longer valid runs is untrained, one of
    /// `SHORT_RUN` is not, whether the piece starts with it or not. (Skipping the limit's lookup
    /// for runs up to `SHORT_RUN` was tried: 50x14 smooth chunks took 2.4% more instructions,
    /// the scan's loop compiled worse.)
    #[test]
    fn runs_are_untrained_past_short_run() {
        let short = SHORT_RUN as usize;
        // Byte 0 merged with itself, then twice that: its runs of 2 and 4 are valid tokens.
        let bpe = tree_model(&[(0, 0), (BYTES.len(), BYTES.len())]);
        let bt = tables(&bpe);
        let (zero, one) = (
            bpe.byte_id(BYTES[0]).unwrap(),
            bpe.byte_id(BYTES[1]).unwrap(),
        );
        for unit in [zero, one] {
            assert_eq!(bt.run_limit(unit), short);
            assert_eq!(bt.untrained_run(&vec![unit; short], 0), None);
            assert_eq!(
                bt.untrained_run(&vec![unit; short + 1], 0),
                Some((0, short + 1))
            );
            let other = if unit == zero { one } else { zero };
            let mut units = vec![other, other];
            units.extend(std::iter::repeat(unit).take(short + 1));
            assert_eq!(bt.untrained_run(&units, 0), Some((2, short + 1)));
        }
    }

    fn tables(bpe: &Bpe) -> &Backtrack {
        bpe.backtrack
            .get_or_init(|| Backtrack::new(bpe))
            .as_ref()
            .expect("a tree model meets the backtracking encoder's assumptions")
    }

    /// Runs the search alone (no fallback, no work limit), with each trie walk: `None` if it
    /// gave up, and the two walks must agree.
    fn search(bpe: &Bpe, piece: &[u8]) -> Option<Vec<u32>> {
        let t = tables(bpe);
        let (mut out, mut units) = (Vec::new(), Vec::new());
        bpe.push_units(piece, &mut units);
        let mut scratch = BacktrackScratch::default();
        let runs = t
            .encode_within::<_, true>(bpe, &bpe.table, &units, usize::MAX, &mut scratch, &mut out)
            .then_some(out);
        let mut out = Vec::new();
        let matrix = t
            .encode_within::<_, false>(bpe, &bpe.table, &units, usize::MAX, &mut scratch, &mut out)
            .then_some(out);
        assert_eq!(runs, matrix, "the two trie walks disagree on {piece:?}");
        runs
    }

    /// The search as encoding runs it, with its limits: `None` if it left the piece to the run
    /// sweep.
    fn limited_search(bpe: &Bpe, piece: &[u8]) -> Option<Vec<u32>> {
        tables(bpe);
        let (mut out, mut units) = (Vec::new(), Vec::new());
        bpe.push_units(piece, &mut units);
        bpe.search(&units, &mut BpeScratch::default(), &mut out)
            .then_some(out)
    }

    fn picks() -> impl Strategy<Value = Vec<(usize, usize)>> {
        prop::collection::vec((0usize..64, 0usize..64), 0..80)
    }

    #[test]
    fn models_outside_the_assumptions_are_refused() {
        let tokens = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // "abc" made by two merges: no unique tree.
        let two_trees = Bpe::new(
            tokens(&["a", "b", "c", "ab", "bc", "abc"]),
            vec![(0, 1), (1, 2), (3, 2), (0, 4)],
            vec![3, 4, 5, 5],
            false,
        );
        assert!(Backtrack::new(&two_trees).is_none());
        // (ab, c) uses "ab" before the merge making it: not monotone.
        let not_monotone = Bpe::new(
            tokens(&["a", "b", "c", "ab", "abc"]),
            vec![(3, 2), (0, 1)],
            vec![4, 3],
            false,
        );
        assert!(Backtrack::new(&not_monotone).is_none());
        let ignore = Bpe::new(tokens(&["a", "b", "ab"]), vec![(0, 1)], vec![2], true);
        assert!(Backtrack::new(&ignore).is_none());
        let fine = Bpe::new(tokens(&["a", "b", "ab"]), vec![(0, 1)], vec![2], false);
        assert!(Backtrack::new(&fine).is_some());
    }

    #[test]
    fn leftmost_rule_decides_equal_ranks() {
        // "aaa" -> [aa, a]: (aa, a) is compatible, (a, aa) is not.
        let bpe = Bpe::new(vec!["a".into(), "aa".into()], vec![(0, 0)], vec![1], false);
        let t = tables(&bpe);
        assert!(t.compatible(&bpe.table, 1, 0));
        assert!(!t.compatible(&bpe.table, 0, 1));
        assert!(!t.compatible(&bpe.table, 0, 0));
        assert!(t.compatible(&bpe.table, 1, 1));
        assert_eq!(search(&bpe, b"aaa"), Some(vec![1, 0]));
        assert_eq!(search(&bpe, b"aaaaa"), Some(vec![1, 1, 0]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The tree walk against the definition: the merge loop on the two tokens' bytes.
        #[test]
        fn compatible_is_the_merge_loop_on_the_pair(picks in picks()) {
            let bpe = tree_model(&picks);
            let t = tables(&bpe);
            let valid: Vec<u32> = (0..bpe.vocab_len() as u32)
                .filter(|&id| t.info[id as usize].units > 0)
                .collect();
            for &a in &valid {
                for &b in &valid {
                    let bytes = [bpe.token_bytes(a).unwrap(), bpe.token_bytes(b).unwrap()].concat();
                    let expected = oracle(&bpe, &bytes) == [a, b];
                    prop_assert_eq!(t.compatible(&bpe.table, a, b), expected, "pair ({}, {})", a, b);
                }
            }
        }

        /// Valid tokens are exactly those the merge loop leaves whole.
        #[test]
        fn valid_tokens_are_their_own_encoding(picks in picks()) {
            let bpe = tree_model(&picks);
            let t = tables(&bpe);
            for id in 0..bpe.vocab_len() as u32 {
                let whole = oracle(&bpe, bpe.token_bytes(id).unwrap()) == [id];
                prop_assert_eq!(t.info[id as usize].units > 0, whole, "token {}", id);
            }
        }

        /// The search alone returns the merge loop's result, and does not give up.
        #[test]
        fn search_is_the_merge_loop(
            picks in picks(),
            pieces in prop::collection::vec(piece_strategy(), 1..8),
        ) {
            let bpe = tree_model(&picks);
            for piece in &pieces {
                let expected = oracle(&bpe, piece);
                prop_assert_eq!(search(&bpe, piece), Some(expected.clone()), "piece {:?}", piece);
                // With its limits it may leave the piece to the run sweep, never answer wrong.
                if let Some(ids) = limited_search(&bpe, piece) {
                    prop_assert_eq!(ids, expected, "piece {:?}", piece);
                }
            }
        }
    }

    /// A memo of the hashed form (what vocabularies above `DENSE_MEMO_VOCAB` get), for `bpe`.
    fn hashed_memo(bpe: &Bpe) -> PairMemo {
        PairMemo {
            owner: bpe.uid,
            width: 0,
            dense: Vec::new(),
            hashed: vec![MEMO_EMPTY; MEMO_LEN],
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]

        /// Both forms of the memo give `compatible`'s answer, when they compute it and when they
        /// read it back, for every pair of tokens (valid or not) in any order.
        #[test]
        fn memo_answers_are_compatible_answers(picks in picks(), reversed in any::<bool>()) {
            let bpe = tree_model(&picks);
            let t = tables(&bpe);
            let mut dense = PairMemo::default();
            dense.prepare(&bpe);
            prop_assert_eq!(dense.width, bpe.vocab_len());
            let mut hashed = hashed_memo(&bpe);
            let n = bpe.vocab_len() as u32;
            let mut pairs: Vec<(u32, u32)> =
                (0..n).flat_map(|a| (0..n).map(move |b| (a, b))).collect();
            if reversed {
                pairs.reverse();
            }
            for _ in 0..2 {
                for &(a, b) in &pairs {
                    let expected = t.compatible(&bpe.table, a, b);
                    prop_assert_eq!(t.compatible_memo(&bpe.table, &mut dense, a, b), expected);
                    prop_assert_eq!(t.compatible_memo(&bpe.table, &mut hashed, a, b), expected);
                }
            }
        }
    }

    /// One scratch over many pieces, across the wrap-around of the dead-end stamps and with the
    /// hashed memo as well: every piece gets the merge loop's ids.
    #[test]
    fn one_scratch_serves_many_pieces() {
        let bpe = demo_tokenizer();
        let t = tables(&bpe);
        for hashed in [false, true] {
            let mut scratch = BacktrackScratch {
                epoch: u32::MAX - 3,
                ..BacktrackScratch::default()
            };
            if hashed {
                scratch.memo = hashed_memo(&bpe);
            }
            let mut wrapped = false;
            for (seed, piece) in demo_pieces(&bpe, 64) {
                let (mut units, mut out) = (Vec::new(), Vec::new());
                bpe.push_units(&piece, &mut units);
                let done = if (seed / 8) % 2 == 0 {
                    Backtrack::encode_within::<_, true>
                } else {
                    Backtrack::encode_within::<_, false>
                };
                assert!(done(
                    t,
                    &bpe,
                    &bpe.table,
                    &units,
                    usize::MAX,
                    &mut scratch,
                    &mut out
                ));
                assert_eq!(
                    out,
                    oracle(&bpe, &piece),
                    "seed {seed}, hashed memo {hashed}"
                );
                wrapped |= scratch.epoch < 100;
            }
            assert!(wrapped, "the stamps wrapped around");
            assert_eq!(scratch.memo.width == 0, hashed);
        }
    }

    #[test]
    fn search_is_the_merge_loop_on_the_demo_tokenizer() {
        let bpe = demo_tokenizer();
        for (seed, piece) in demo_pieces(&bpe, 400) {
            assert_eq!(
                search(&bpe, &piece),
                Some(oracle(&bpe, &piece)),
                "seed {seed}"
            );
        }
    }
}
