//! Pieces with untrained runs: the backtracking search around each run, the run sweep inside it.
//!
//! A FAST piece of a chunk longer than the training's ends in a run of zeros longer than any
//! token (a 50×14 chunk with a tokenizer fitted on 50×14 smooth chunks: ~130 varied units, then
//! ~470 zeros). The search refuses such a run ([`Backtrack::untrained_run`]), and the run sweep
//! over the whole piece spends most of its work on the varied part, merge by merge. Here the
//! search encodes the varied parts, each reaching a little way into the neighbouring runs, and
//! the run sweep only the interior of each run, which costs its depth in merges.
//!
//! # Why it is the merge loop
//!
//! The pieces are put together as one tokenization `U` of the whole piece:
//!
//! * each *segment* (the varied part between two untrained runs, with up to [`REACHES`] units of
//!   each run) is encoded by the search; of its tokens, those from the one covering the segment's
//!   first unit after the previous run to the one covering its last unit before the next run are
//!   kept;
//! * the units between two kept groups (a part of one run's interior, `a^m`) are encoded by the
//!   run sweep on `a^m` alone.
//!
//! The search only emits valid tokens with compatible adjacent pairs (module docs of
//! [`super::backtrack`]); the run sweep's tokens are checked to be valid and their pairs
//! compatible, and so is every pair where two groups meet. Then every token of `U` is valid and
//! every adjacent pair compatible, and by the lemma of [`super::backtrack`] `U` is the merge loop's
//! result. When a check fails (the groups did not meet at a boundary of the merge loop's result),
//! or a search gives up, the piece goes to the run sweep whole, as before: the choice of the
//! segments only moves the cost, never the ids.
//!
//! Measured (callgrind, instructions per chunk, `benches/workload.rs`; 2026-12-07): the bundled
//! tokenizer (fitted on 20×7) on 50×14 chunks (`encode`) 151k → 96k, where the whole-piece run
//! sweep had been 81k; a tokenizer fitted on 50×14 smooth chunks (`shape`) on its own shape 95k →
//! 74k, on 160×14 smooth 325k → 275k, on all-zero 50×14 63k → 51k; pieces without untrained runs
//! (noisy chunks, 160×2) unchanged or slightly cheaper. Of a 50×14 chunk's remaining BPE work,
//! the search is most; the run sweep of run interiors is memoized ([`RunMemo`]).

use super::backtrack::Backtrack;
use super::{Bpe, BpeScratch, PairRanks};
use rustc_hash::FxHashMap;

/// How far a segment reaches into a neighbouring untrained run, in units (capped by the run's
/// limit, so a segment holds no untrained run), first try and second. The token where a segment
/// meets a run may hold units of the run, so the reach must cover them; but a segment's search
/// sees only `reach` units of the run, whose last merges (the run's highest levels) can differ
/// from the whole run's, and the groups then do not fit (with the tok5014 recipe on 100×7
/// chunks, 39 of 142 pieces failed with a reach of 32, none with 24 or 8). Neither try failed on
/// the measured shapes; the second one is insurance for other models.
const REACHES: [usize; 2] = [24, 8];

/// The run sweep's tokens for runs `(unit, count)` already encoded with one model, each checked
/// inside (valid tokens, compatible pairs): a FAST batch meets the same few hundred run lengths
/// again and again, and the sweep of one was ~3k instructions of a 50×14 chunk's ~77k.
#[derive(Default)]
pub(super) struct RunMemo {
    /// `uid` of the model the entries belong to (0: none; uids start at 1).
    owner: u64,
    /// Key: `unit << 32 | count`; the tokens inline (no allocation once reserved).
    map: FxHashMap<u64, ([u32; RUN_MEMO_TOKENS], u8)>,
}

/// Most tokens a [`RunMemo`] entry holds (a run of 2,000 zeros is ~10 tokens with tok5014).
const RUN_MEMO_TOKENS: usize = 24;

impl RunMemo {
    /// Entries kept before the memo starts over (about 130 KiB reserved).
    const CAPACITY: usize = 1 << 10;

    /// Reserves the memo's full capacity.
    pub(super) fn reserve(&mut self) {
        self.map
            .reserve(Self::CAPACITY.saturating_sub(self.map.len()));
    }
}

impl Bpe {
    /// Encodes the piece spelled `units`, whose first untrained run is `first` (`(start, len)`),
    /// as in the module docs, appending the ids to `out`; `false` (and `out` as it was) when the
    /// groups did not fit together or a search gave up.
    pub(super) fn search_around_runs<P: PairRanks>(
        &self,
        bt: &Backtrack,
        ranks: &P,
        units: &[u32],
        first: (usize, usize),
        scratch: &mut BpeScratch,
        out: &mut Vec<u32>,
    ) -> bool {
        let start = out.len();
        let mut segment = std::mem::take(&mut scratch.segment);
        let mut middle = std::mem::take(&mut scratch.middle);
        let mut done = false;
        for reach in REACHES {
            done = self.around_runs(
                bt,
                ranks,
                units,
                first,
                reach,
                scratch,
                &mut segment,
                &mut middle,
                out,
                start,
            );
            if done {
                break;
            }
            out.truncate(start);
        }
        scratch.segment = segment;
        scratch.middle = middle;
        done
    }

    /// One try of [`Bpe::search_around_runs`] with segments reaching `reach` units into runs.
    #[allow(clippy::too_many_arguments)]
    fn around_runs<P: PairRanks>(
        &self,
        bt: &Backtrack,
        ranks: &P,
        units: &[u32],
        first: (usize, usize),
        reach: usize,
        scratch: &mut BpeScratch,
        segment: &mut Vec<u32>,
        middle: &mut Vec<u32>,
        out: &mut Vec<u32>,
        start: usize,
    ) -> bool {
        let n = units.len();
        // Units before `done` are encoded in `out[start..]`.
        let mut done = 0;
        // The segment starts at `seg_start`; its tokens are kept from the one covering `keep_from`.
        let (mut seg_start, mut keep_from) = (0, 0);
        // The untrained run that follows the segment, and the one before it (its unit).
        let mut run = Some(first);
        let mut before: Option<u32> = None;
        loop {
            let (seg_end, keep_to) = match run {
                Some((s, _)) => (s + reach.min(bt.run_limit(units[s]) - 1), s),
                None => (n, n),
            };
            segment.clear();
            // The first segment is empty when the piece starts with the run.
            let (mut begin, mut end) = (keep_to, keep_to);
            if keep_to > seg_start || before.is_some() {
                if !bt.encode(
                    self,
                    ranks,
                    &units[seg_start..seg_end],
                    &mut scratch.backtrack,
                    segment,
                ) {
                    return false;
                }
                // Keep the tokens from the one covering `keep_from` to the one covering
                // `keep_to - 1` (at least the first, when two runs meet).
                let keep_end = keep_to.max(keep_from + 1);
                let (mut at, mut first_kept, mut last_kept) = (seg_start, segment.len(), 0);
                for (i, &token) in segment.iter().enumerate() {
                    let len = bt.valid_units(token);
                    if at + len > keep_from && at < keep_end {
                        if first_kept == segment.len() {
                            first_kept = i;
                            begin = at;
                        }
                        last_kept = i + 1;
                        end = at + len;
                    }
                    at += len;
                }
                if first_kept == segment.len() {
                    return false;
                }
                segment.truncate(last_kept);
                segment.drain(..first_kept);
            }
            // The run's interior between the last group and this one.
            if begin < done {
                return false;
            }
            if begin > done {
                let Some(unit) = before else {
                    return false;
                };
                if !self.append_run(bt, ranks, unit, begin - done, scratch, middle, out, start) {
                    return false;
                }
            }
            if !self.append_checked(bt, ranks, segment, false, scratch, out, start) {
                return false;
            }
            done = end;
            let Some((s, len)) = run else {
                return done == n;
            };
            if end >= s + len {
                return false;
            }
            before = Some(units[s]);
            if s + len == n {
                return self.append_run(bt, ranks, units[s], n - done, scratch, middle, out, start);
            }
            keep_from = s + len;
            // The run's units from `done` on merge among themselves as a run of their own would
            // (the token before them is settled), so in each level of its merges the pairs start
            // at `done`: the next segment starts a multiple of `grid` units after it, where its
            // search sees the run's end paired as in the whole piece up to tokens of `grid` units
            // (a start off the grid failed on every run of odd length followed by a coefficient).
            let (left, grid) = (keep_from - done, reach.next_power_of_two());
            let take = if left <= reach {
                left
            } else {
                reach + (left - reach) % grid
            };
            if take >= bt.run_limit(units[s]) {
                return false;
            }
            seg_start = keep_from - take;
            run = bt.untrained_run(units, keep_from);
        }
    }

    /// Appends the run sweep's tokens for `count` copies of `unit`, checked (module docs).
    #[allow(clippy::too_many_arguments)]
    fn append_run<P: PairRanks>(
        &self,
        bt: &Backtrack,
        ranks: &P,
        unit: u32,
        count: usize,
        scratch: &mut BpeScratch,
        middle: &mut Vec<u32>,
        out: &mut Vec<u32>,
        start: usize,
    ) -> bool {
        middle.clear();
        let memo = &mut scratch.run_memo;
        if memo.owner != self.uid {
            memo.map.clear();
            memo.owner = self.uid;
        }
        let key = u64::from(unit) << 32 | count as u64;
        if let Some((tokens, len)) = memo.map.get(&key) {
            // Checked inside when stored: only the meeting pair is left.
            middle.extend_from_slice(&tokens[..*len as usize]);
            return self.append_checked(bt, ranks, middle, false, scratch, out, start);
        }
        self.merge_run(ranks, unit, count, &mut scratch.runs, middle);
        if !self.append_checked(bt, ranks, middle, true, scratch, out, start) {
            return false;
        }
        if middle.len() <= RUN_MEMO_TOKENS {
            let memo = &mut scratch.run_memo;
            if memo.map.len() >= RunMemo::CAPACITY {
                memo.map.clear();
            }
            let mut tokens = [0; RUN_MEMO_TOKENS];
            tokens[..middle.len()].copy_from_slice(middle);
            memo.map.insert(key, (tokens, middle.len() as u8));
        }
        true
    }

    /// Appends `tokens` to `out` if the pair where they meet `out[start..]` is compatible and,
    /// when `inside` is set, if each token is valid and each of their own pairs compatible.
    #[allow(clippy::too_many_arguments)]
    fn append_checked<P: PairRanks>(
        &self,
        bt: &Backtrack,
        ranks: &P,
        tokens: &[u32],
        inside: bool,
        scratch: &mut BpeScratch,
        out: &mut Vec<u32>,
        start: usize,
    ) -> bool {
        let Some(&head) = tokens.first() else {
            return true;
        };
        if out.len() > start
            && !bt.compatible_pair(
                self,
                ranks,
                &mut scratch.backtrack,
                out[out.len() - 1],
                head,
            )
        {
            return false;
        }
        if inside {
            if tokens.iter().any(|&t| bt.valid_units(t) == 0) {
                return false;
            }
            for pair in tokens.windows(2) {
                if !bt.compatible_pair(self, ranks, &mut scratch.backtrack, pair[0], pair[1]) {
                    return false;
                }
            }
        }
        out.extend_from_slice(tokens);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::backtrack::tests::tree_model;
    use super::super::tests::{demo_tokenizer, oracle, BYTES};
    use super::super::{Backtrack, Bpe, BpeScratch};
    use proptest::prelude::*;

    /// The new path alone on `piece`: `None` when the piece has no untrained run or the groups
    /// did not fit; checked against the oracle with both rank lookups when it answers.
    fn around(bpe: &Bpe, piece: &[u8]) -> Result<Option<Vec<u32>>, TestCaseError> {
        let Some(bt) = bpe.backtrack.get_or_init(|| Backtrack::new(bpe)).as_ref() else {
            return Ok(None);
        };
        let mut units = Vec::new();
        bpe.push_units(piece, &mut units);
        let Some(first) = bt.untrained_run(&units, 0) else {
            return Ok(None);
        };
        let expected = oracle(bpe, piece);
        let mut scratch = BpeScratch::default();
        let mut out = vec![7];
        if !bpe.search_around_runs(bt, &bpe.table, &units, first, &mut scratch, &mut out) {
            prop_assert_eq!(out, vec![7], "out left as it was");
            return Ok(None);
        }
        prop_assert_eq!(&out[1..], &expected[..], "table, piece {:?}", piece);
        if let Some(dense) = &bpe.dense {
            out.truncate(1);
            prop_assert!(bpe.search_around_runs(bt, dense, &units, first, &mut scratch, &mut out));
            prop_assert_eq!(&out[1..], &expected[..], "dense, piece {:?}", piece);
        }
        Ok(Some(out[1..].to_vec()))
    }

    /// Pieces of varied parts and long runs: runs of a byte or of U+0162 (FAST+'s two-byte zero)
    /// up to hundreds long, at the start, between and at the end.
    fn run_pieces() -> impl Strategy<Value = Vec<u8>> {
        let symbol = prop::sample::select(BYTES.to_vec());
        let part = prop_oneof![
            prop::collection::vec(symbol.clone(), 0..30),
            (symbol, 1usize..700).prop_map(|(b, n)| vec![b; n]),
            (1usize..700).prop_map(|n| "\u{162}".repeat(n).into_bytes()),
        ];
        prop::collection::vec(part, 1..7).prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Around untrained runs, whenever the groups fit, the ids are the merge loop's.
        #[test]
        fn around_runs_is_the_merge_loop(
            picks in prop::collection::vec((0usize..64, 0usize..64), 0..80),
            pieces in prop::collection::vec(run_pieces(), 1..6),
        ) {
            let bpe = tree_model(&picks);
            for piece in &pieces {
                around(&bpe, piece)?;
                // And the whole encoder, whichever way it goes.
                let mut out = Vec::new();
                bpe.encode_piece(piece, &mut BpeScratch::default(), &mut out);
                prop_assert_eq!(out, oracle(&bpe, piece), "encode_piece, piece {:?}", piece);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]

        /// One scratch over two models and many pieces: the memo of runs serves each model its
        /// own runs' tokens.
        #[test]
        fn one_scratch_serves_two_models(
            picks in prop::collection::vec((0usize..64, 0usize..64), 20..80),
            other in prop::collection::vec((0usize..64, 0usize..64), 20..80),
            pieces in prop::collection::vec(run_pieces(), 1..6),
        ) {
            let models = [tree_model(&picks), tree_model(&other)];
            let mut scratch = BpeScratch::default();
            for _ in 0..2 {
                for piece in &pieces {
                    for bpe in &models {
                        let mut out = Vec::new();
                        bpe.encode_piece(piece, &mut scratch, &mut out);
                        prop_assert_eq!(out, oracle(bpe, piece), "piece {:?}", piece);
                    }
                }
            }
        }
    }

    /// The path answers (rather than leaving the piece to the run sweep) on random tree models
    /// nearly always, so the property above tests it.
    #[test]
    fn around_runs_usually_answers_on_random_models() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (mut answered, mut tried) = (0, 0);
        for _ in 0..200 {
            let picks = prop::collection::vec((0usize..64, 0usize..64), 20..80)
                .new_tree(&mut runner)
                .unwrap()
                .current();
            let piece = run_pieces().new_tree(&mut runner).unwrap().current();
            let bpe = tree_model(&picks);
            if let Some(bt) = bpe.backtrack.get_or_init(|| Backtrack::new(&bpe)).as_ref() {
                let mut units = Vec::new();
                bpe.push_units(&piece, &mut units);
                if bt.untrained_run(&units, 0).is_some() {
                    tried += 1;
                    answered += usize::from(around(&bpe, &piece).unwrap().is_some());
                }
            }
        }
        // 133 of 134 when written.
        assert!(
            tried >= 50 && answered * 10 >= tried * 9,
            "{answered}/{tried}"
        );
    }

    /// FAST's zero, U+0162, in runs past any trained piece after, between and before other
    /// coefficients on the demo tokenizer (fitted on 20×7 chunks): the path answers, and right.
    #[test]
    fn zero_runs_on_the_demo_tokenizer() {
        let bpe = demo_tokenizer();
        let (mut answered, mut tried) = (0, 0);
        for n in [
            150, 200, 300, 383, 384, 385, 511, 512, 513, 700, 1024, 1400, 2201,
        ] {
            let zeros = "\u{162}".repeat(n);
            for piece in [
                zeros.clone(),
                format!("\u{163}{zeros}"),
                format!("{zeros}\u{161}"),
                format!("\u{160}\u{164}\u{15F}\u{162}\u{162}\u{163}{zeros}"),
                format!("\u{160}\u{164}{zeros}\u{15F}{zeros}\u{163}"),
                format!("\u{160}{zeros}\u{15F}\u{164}\u{161}\u{162}\u{160}{zeros}"),
            ] {
                if piece.bytes().all(|b| bpe.byte_id(b).is_some()) {
                    if around(&bpe, piece.as_bytes()).unwrap().is_some() {
                        answered += 1;
                    }
                    tried += 1;
                }
            }
        }
        assert_eq!(answered, tried);
    }
}
