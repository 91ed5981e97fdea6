//! The merge loop of monotone models over runs of equal symbols: long runs cost their depth in
//! merges, not their length.
//!
//! FAST pieces are full of runs of one symbol (the zero coefficient, hundreds of times in a row
//! in the high frequencies, thousands in an idle robot's chunk). The backtracking search
//! ([`super::backtrack`]) walks such a run unit by unit and, when the run is longer than the
//! training ever showed, backtracks over it many times; a merge loop over single symbols merges
//! it pair by pair. Here the piece is kept as a list of runs `(symbol, count)` and a whole run is
//! merged at once.
//!
//! # Why it is the merge loop
//!
//! In a monotone model (module docs of [`super`]) the merge loop is the sweep: ranks in
//! increasing order; at rank `r`, with merge `(a, b) → c`, every occurrence of the pair present
//! when rank `r` starts is merged, from left to right, skipping an occurrence whose left symbol
//! was just consumed by the previous one; no pair of rank `r` appears while rank `r` is processed
//! (a new pair contains `c`, and merges using `c` rank after the merges producing it). On runs:
//!
//! * `a == b`: the occurrences are inside runs of `a` (two adjacent runs never hold the same
//!   symbol: they are coalesced). Left to right, a run of `k` symbols `a` becomes `k / 2` symbols
//!   `c`, then one `a` if `k` is odd.
//! * `a != b`: the occurrences are at run boundaries, the last `a` of a run before the first `b`
//!   of the next. Two of them never share a symbol (that would need a run of `b` that is also a
//!   run of `a`), so each boundary merges: `a^k b^l` becomes `a^(k-1) c b^(l-1)`.
//!
//! In both cases the occurrences of rank `r` are disjoint, so the order in which they are taken
//! does not matter, and the result is the sweep's, symbol for symbol. Newly adjacent runs of
//! equal symbols are coalesced, which changes the representation only.
//!
//! Entries of the rank queue name a run and a pair kind (inside the run, or at its right
//! boundary); an entry is checked against the run's current symbols when its rank comes, so
//! entries made stale by later changes are skipped, as in the reference's heap. A boundary merge
//! whose left (or right) run is a single symbol writes the merged symbol into that run's slot
//! instead of linking a new run. The symbol in a slot only ever grows (a merged token spells both
//! of its parts, and tokens spelled differently have different ids), so the slot never held the
//! merged symbol before and every older entry naming it is stale, as it would be for a new run.

use super::{Bpe, PairRanks, DEAD, NONE};

/// One run: `count` copies of symbol `id`, in a doubly linked list.
#[derive(Clone, Copy, Debug)]
struct Run {
    /// Token id, or [`DEAD`] once the run is gone.
    id: u32,
    count: u32,
    prev: u32,
    next: u32,
}

/// Queue entry kind: the pair inside a run (two of its symbols).
const INSIDE: u32 = 0;
/// Queue entry kind: the pair at a run's right boundary.
const BOUNDARY: u32 = 1;

/// Buffers of [`Bpe::merge_runs`], kept in [`super::BpeScratch`].
#[derive(Default)]
pub(super) struct RunScratch {
    runs: Vec<Run>,
    queue: RunQueue,
}

impl RunScratch {
    /// Reserves the buffers for pieces of up to `units` units and a model of `ranks` merges.
    pub(super) fn reserve(&mut self, units: usize, ranks: usize) {
        use super::reserve_total;
        // Each merge adds at most two runs, and there are fewer merges than units.
        reserve_total(&mut self.runs, 3 * units);
        reserve_total(&mut self.queue.heads, ranks);
        reserve_total(&mut self.queue.bits, ranks.div_ceil(64));
        // Every run is pushed at most twice initially, and each merge pushes at most four.
        reserve_total(&mut self.queue.nodes, 6 * units);
    }
}

/// Bucket queue of entries `run << 1 | kind` by rank, taken in increasing rank only; the order
/// inside a rank is irrelevant (module docs), so buckets are plain stacks.
#[derive(Default)]
struct RunQueue {
    /// First node of each rank's list, or [`NONE`].
    heads: Vec<u32>,
    /// `(entry, next node)`.
    nodes: Vec<(u32, u32)>,
    /// Bit `r`: rank `r` has entries.
    bits: Vec<u64>,
    /// Word of `bits` where the search for the next rank starts.
    cursor: usize,
    /// A piece is in progress (only observable after a panic): the next one starts afresh.
    dirty: bool,
}

impl RunQueue {
    fn prepare(&mut self, ranks: usize) {
        if self.dirty || self.heads.len() != ranks {
            self.heads.clear();
            self.heads.resize(ranks, NONE);
            self.bits.clear();
            self.bits.resize(ranks.div_ceil(64), 0);
        }
        self.nodes.clear();
        self.cursor = 0;
        self.dirty = true;
    }

    #[inline(always)]
    fn push(&mut self, rank: u32, entry: u32) {
        let r = rank as usize;
        let node = self.nodes.len() as u32;
        self.nodes.push((entry, self.heads[r]));
        self.heads[r] = node;
        self.bits[r >> 6] |= 1 << (r & 63);
    }

    /// Removes the lowest rank with entries; returns it and the first node of its list.
    #[inline(always)]
    fn pop_min(&mut self) -> Option<(u32, u32)> {
        let Some(offset) = self.bits[self.cursor..].iter().position(|&b| b != 0) else {
            self.dirty = false;
            return None;
        };
        let w = self.cursor + offset;
        self.cursor = w;
        let bit = self.bits[w].trailing_zeros() as usize;
        self.bits[w] &= !(1 << bit);
        let r = (w << 6) | bit;
        Some((r as u32, std::mem::replace(&mut self.heads[r], NONE)))
    }
}

/// The run list of one piece.
struct Runs<'a> {
    runs: &'a mut Vec<Run>,
    head: u32,
}

impl Runs<'_> {
    /// Removes run `x` from the list.
    #[inline(always)]
    fn unlink(&mut self, x: u32) {
        let Run { prev, next, .. } = self.runs[x as usize];
        self.runs[x as usize].id = DEAD;
        if prev == NONE {
            self.head = next;
        } else {
            self.runs[prev as usize].next = next;
        }
        if next != NONE {
            self.runs[next as usize].prev = prev;
        }
    }

    /// Inserts a run of `count` symbols `id` between `prev` (or the head) and `next`; returns it.
    #[inline(always)]
    fn insert(&mut self, prev: u32, next: u32, id: u32, count: u32) -> u32 {
        let x = self.runs.len() as u32;
        self.runs.push(Run {
            id,
            count,
            prev,
            next,
        });
        if prev == NONE {
            self.head = x;
        } else {
            self.runs[prev as usize].next = x;
        }
        if next != NONE {
            self.runs[next as usize].prev = x;
        }
        x
    }

    /// Coalesces run `x` with its neighbours when they hold the same symbol; returns the run
    /// that holds `x`'s symbols now.
    #[inline(always)]
    fn coalesce(&mut self, mut x: u32) -> u32 {
        let Run { id, prev, next, .. } = self.runs[x as usize];
        if prev != NONE && self.runs[prev as usize].id == id {
            self.runs[prev as usize].count += self.runs[x as usize].count;
            self.unlink(x);
            x = prev;
        }
        if next != NONE && self.runs[next as usize].id == id {
            self.runs[x as usize].count += self.runs[next as usize].count;
            self.unlink(next);
        }
        x
    }

    /// Queues the pairs inside `x` and at its two boundaries that have a merge.
    #[inline(always)]
    fn push_around<P: PairRanks>(&self, ranks: &P, queue: &mut RunQueue, x: u32) {
        let Run {
            id,
            count,
            prev,
            next,
        } = self.runs[x as usize];
        if prev != NONE {
            self.push_boundary(ranks, queue, prev);
        }
        if count >= 2 {
            let rank = ranks.rank(id, id);
            if rank != NONE {
                queue.push(rank, x << 1 | INSIDE);
            }
        }
        if next != NONE {
            self.push_boundary(ranks, queue, x);
        }
    }

    /// Queues the pair at the right boundary of `x` (which has a next run) if it has a merge.
    #[inline(always)]
    fn push_boundary<P: PairRanks>(&self, ranks: &P, queue: &mut RunQueue, x: u32) {
        let left = self.runs[x as usize];
        let rank = ranks.rank(left.id, self.runs[left.next as usize].id);
        if rank != NONE {
            queue.push(rank, x << 1 | BOUNDARY);
        }
    }
}

impl Bpe {
    /// The merge loop of a monotone model on a piece given as its units, appending the ids to
    /// `out` (module docs).
    pub(super) fn merge_runs<P: PairRanks>(
        &self,
        ranks: &P,
        units: &[u32],
        scratch: &mut RunScratch,
        out: &mut Vec<u32>,
    ) {
        debug_assert!(self.monotone, "the run sweep needs a monotone model");
        assert!(
            units.len() < (NONE >> 3) as usize,
            "piece too long for the run sweep"
        );
        let runs = &mut scratch.runs;
        runs.clear();
        for &unit in units {
            match runs.last_mut() {
                Some(run) if run.id == unit => run.count += 1,
                _ => {
                    let at = runs.len() as u32;
                    runs.push(Run {
                        id: unit,
                        count: 1,
                        prev: at.wrapping_sub(1),
                        next: at + 1,
                    });
                }
            }
        }
        let Some(last) = runs.last_mut() else {
            return;
        };
        last.next = NONE;
        self.sweep(ranks, scratch, out);
    }

    /// [`Bpe::merge_runs`] on the piece of `count` copies of unit `id`, without spelling it.
    pub(super) fn merge_run<P: PairRanks>(
        &self,
        ranks: &P,
        id: u32,
        count: usize,
        scratch: &mut RunScratch,
        out: &mut Vec<u32>,
    ) {
        debug_assert!(self.monotone, "the run sweep needs a monotone model");
        assert!(
            count < (NONE >> 3) as usize,
            "run too long for the run sweep"
        );
        if count == 0 {
            return;
        }
        scratch.runs.clear();
        scratch.runs.push(Run {
            id,
            count: count as u32,
            prev: NONE,
            next: NONE,
        });
        self.sweep(ranks, scratch, out);
    }

    /// The sweep on the run list in `scratch.runs` (non-empty, linked in slot order, coalesced).
    fn sweep<P: PairRanks>(&self, ranks: &P, scratch: &mut RunScratch, out: &mut Vec<u32>) {
        let RunScratch { runs, queue } = scratch;
        queue.prepare(self.merges.len());
        let mut list = Runs { runs, head: 0 };
        for x in 0..list.runs.len() as u32 {
            let Run {
                id, count, next, ..
            } = list.runs[x as usize];
            if count >= 2 {
                let rank = ranks.rank(id, id);
                if rank != NONE {
                    queue.push(rank, x << 1 | INSIDE);
                }
            }
            if next != NONE {
                list.push_boundary(ranks, queue, x);
            }
        }
        while let Some((rank, mut node)) = queue.pop_min() {
            let (a, b) = self.merges[rank as usize];
            let c = self.merged_ids[rank as usize];
            while node != NONE {
                let (entry, next_node) = queue.nodes[node as usize];
                node = next_node;
                let x = entry >> 1;
                let run = list.runs[x as usize];
                // A dead run has id DEAD, never `a`.
                if run.id != a {
                    continue;
                }
                if entry & 1 == INSIDE {
                    if a != b || run.count < 2 {
                        continue;
                    }
                    let odd = run.count % 2 == 1;
                    list.runs[x as usize].id = c;
                    list.runs[x as usize].count = run.count / 2;
                    if odd {
                        let rest = list.insert(x, run.next, a, 1);
                        if run.next != NONE {
                            // The last `a` keeps its right neighbour, now from its own run.
                            list.push_boundary(ranks, queue, rest);
                        }
                    }
                    let merged = list.coalesce(x);
                    list.push_around(ranks, queue, merged);
                } else {
                    let y = run.next;
                    if y == NONE || list.runs[y as usize].id != b {
                        continue;
                    }
                    // Most runs are single symbols: the merged symbol then takes over the slot
                    // of one of its parts rather than a new one (module docs).
                    let y_count = list.runs[y as usize].count;
                    let z = if run.count == 1 {
                        list.runs[x as usize].id = c;
                        if y_count == 1 {
                            list.unlink(y);
                        } else {
                            list.runs[y as usize].count -= 1;
                        }
                        x
                    } else if y_count == 1 {
                        list.runs[x as usize].count -= 1;
                        list.runs[y as usize].id = c;
                        y
                    } else {
                        list.runs[x as usize].count -= 1;
                        list.runs[y as usize].count -= 1;
                        list.insert(x, y, c, 1)
                    };
                    let merged = list.coalesce(z);
                    list.push_around(ranks, queue, merged);
                }
            }
        }
        let mut x = list.head;
        while x != NONE {
            let Run {
                id, count, next, ..
            } = list.runs[x as usize];
            out.extend(std::iter::repeat(id).take(count as usize));
            x = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{consistent_model, demo_tokenizer, oracle, BYTES};
    use super::super::{Bpe, BpeScratch};
    use super::RunScratch;
    use proptest::prelude::*;

    /// A random model as a BPE trainer writes one, except that a merge whose concatenation is
    /// already a token produces that token again (two merge trees; the backtracking search
    /// refuses such models, so only the merge loop encodes them). Kept if monotone.
    fn model(picks: &[(usize, usize)]) -> Bpe {
        consistent_model(picks, &[], &[], false)
    }

    /// Both rank lookups of the model (dense matrix and hash table) give the oracle's ids.
    fn check(bpe: &Bpe, piece: &[u8], scratch: &mut RunScratch) -> Result<(), TestCaseError> {
        let mut units = Vec::new();
        bpe.push_units(piece, &mut units);
        let expected = oracle(bpe, piece);
        let mut out = vec![7];
        bpe.merge_runs(&bpe.table, &units, scratch, &mut out);
        prop_assert_eq!(&out[1..], &expected[..], "table, piece {:?}", piece);
        if let Some(dense) = &bpe.dense {
            out.truncate(1);
            bpe.merge_runs(dense, &units, scratch, &mut out);
            prop_assert_eq!(&out[1..], &expected[..], "dense, piece {:?}", piece);
        }
        // And the whole encoder, whichever way it goes.
        out.truncate(1);
        bpe.encode_piece(piece, &mut BpeScratch::default(), &mut out);
        prop_assert_eq!(&out[1..], &expected[..], "encode_piece, piece {:?}", piece);
        if let Ok(text) = std::str::from_utf8(piece) {
            let chars: Vec<char> = text.chars().collect();
            out.truncate(1);
            bpe.encode_chars(&chars, &mut BpeScratch::default(), &mut out);
            prop_assert_eq!(&out[1..], &expected[..], "encode_chars, piece {:?}", piece);
        }
        Ok(())
    }

    /// Pieces of long runs: a few segments, each a byte or a short pattern repeated up to
    /// hundreds of times, and runs of U+0162 (FAST+'s two-byte zero) thousands long.
    fn run_pieces() -> impl Strategy<Value = Vec<u8>> {
        let symbol = prop::sample::select(BYTES.to_vec());
        prop_oneof![
            prop::collection::vec(
                (prop::collection::vec(symbol.clone(), 1..3), 1usize..600),
                1..6
            )
            .prop_map(|segments| segments
                .iter()
                .flat_map(|(pattern, n)| pattern.repeat(*n))
                .collect()),
            (1usize..3000, symbol).prop_map(|(n, b)| vec![b; n]),
            (1usize..3000).prop_map(|n| "\u{162}".repeat(n).into_bytes()),
            (0usize..5, 1usize..2000, 0usize..5).prop_map(|(a, n, b)| {
                ["a".repeat(a), "\u{162}".repeat(n), "\u{161}".repeat(b)]
                    .concat()
                    .into_bytes()
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The run sweep is the merge loop on monotone models, on long and degenerate pieces.
        #[test]
        fn run_sweep_is_the_merge_loop(
            picks in prop::collection::vec((0usize..64, 0usize..64), 0..80),
            pieces in prop::collection::vec(run_pieces(), 1..5),
        ) {
            let bpe = model(&picks);
            prop_assume!(bpe.monotone);
            let mut scratch = RunScratch::default();
            for piece in &pieces {
                check(&bpe, piece, &mut scratch)?;
            }
        }
    }

    /// FAST's zero, U+0162, in runs of every length up to past any trained piece, alone and
    /// between other coefficients, on the demo tokenizer (fitted on 20×7 chunks: 140 values).
    #[test]
    fn zero_runs_on_the_demo_tokenizer() {
        let bpe = demo_tokenizer();
        assert!(bpe.monotone);
        let mut scratch = RunScratch::default();
        let mut lengths: Vec<usize> = (1..=300).collect();
        lengths.extend([
            383, 384, 385, 511, 512, 513, 700, 701, 1024, 1400, 2201, 7040,
        ]);
        for n in lengths {
            let zeros = "\u{162}".repeat(n);
            assert!(zeros.bytes().all(|b| bpe.byte_id(b).is_some()));
            for piece in [
                zeros.clone(),
                format!("\u{163}{zeros}"),
                format!("{zeros}\u{161}"),
                format!("\u{160}\u{164}{zeros}\u{15F}{zeros}\u{163}"),
            ] {
                if piece.bytes().all(|b| bpe.byte_id(b).is_some()) {
                    check(&bpe, piece.as_bytes(), &mut scratch).unwrap();
                }
            }
        }
    }
}
