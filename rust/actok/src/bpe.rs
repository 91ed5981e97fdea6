//! Byte-level BPE with exactly the encoding semantics of the `tokenizers` library.
//!
//! A piece's bytes start as byte-level symbols; the applicable merge of lowest rank is applied
//! repeatedly, leftmost first among equal ranks (`fast-reference.md` §4). The merge loop mirrors
//! `tokenizers`' priority-queue implementation step for step, so ties resolve identically.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use crate::bytelevel::{token_to_bytes, BYTE_TO_CHAR};

/// A fast multiplicative hasher for the packed `(left, right)` id pairs of the merge table.
#[derive(Default)]
pub(crate) struct PairHasher(u64);

impl Hasher for PairHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub(crate) type PairMap<V> = HashMap<u64, V, BuildHasherDefault<PairHasher>>;

#[inline]
pub(crate) fn pack(left: u32, right: u32) -> u64 {
    (u64::from(left) << 32) | u64::from(right)
}

/// A validated BPE model: vocabulary, merges and the tables derived from them.
#[derive(Clone, Debug)]
pub struct Bpe {
    /// Token strings, indexed by id.
    tokens: Vec<String>,
    /// Merges in rank order, as `(left id, right id)`.
    merges: Vec<(u32, u32)>,
    /// `pack(left, right)` → `(rank, merged id)`; for a pair listed twice the later entry wins.
    merge_map: PairMap<(u32, u32)>,
    /// Merged id of each merge, by rank.
    merged_ids: Vec<u32>,
    /// Id of each byte's byte-level symbol, if the vocabulary has it.
    byte_ids: [Option<u32>; 256],
    /// The bytes each token decodes to.
    token_bytes: Vec<Vec<u8>>,
    /// Token string → id, only needed when `ignore_merges` is set.
    whole_tokens: Option<HashMap<String, u32>>,
}

/// One symbol of the word being merged (a doubly linked list over a vector, as in `tokenizers`).
#[derive(Clone, Copy)]
struct Symbol {
    id: u32,
    prev: isize,
    next: isize,
    /// Zero once merged into its left neighbour.
    alive: bool,
}

/// A heap entry: a merge of rank `rank` at symbol position `pos`, packed as `rank << 32 | pos`
/// so that the min-heap order is "lowest rank, then leftmost" with a single integer comparison.
#[inline]
fn candidate(rank: u32, pos: usize) -> Reverse<u64> {
    Reverse((u64::from(rank) << 32) | pos as u64)
}

/// Reusable buffers for [`Bpe::encode_piece`].
#[derive(Default)]
pub struct BpeScratch {
    symbols: Vec<Symbol>,
    heap: BinaryHeap<Reverse<u64>>,
    text: String,
}

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
        let mut merge_map = PairMap::default();
        for (rank, (&(l, r), &id)) in merges.iter().zip(&merged_ids).enumerate() {
            merge_map.insert(pack(l, r), (rank as u32, id));
        }
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
        let token_bytes = tokens
            .iter()
            .map(|t| {
                let mut out = Vec::with_capacity(t.len());
                token_to_bytes(t, &mut out);
                out
            })
            .collect();
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
            merge_map,
            merged_ids,
            byte_ids,
            token_bytes,
            whole_tokens,
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
        let symbols = &mut scratch.symbols;
        symbols.clear();
        let n = piece.len();
        for (i, &b) in piece.iter().enumerate() {
            let id = self.byte_ids[b as usize].expect("caller checked every byte is in the vocab");
            let next = if i + 1 < n { i as isize + 1 } else { -1 };
            symbols.push(Symbol {
                id,
                prev: i as isize - 1,
                next,
                alive: true,
            });
        }
        if n > 1 {
            self.merge_all(symbols, &mut scratch.heap);
        }
        out.extend(symbols.iter().filter(|s| s.alive).map(|s| s.id));
    }

    /// `tokenizers`' `Word::merge_all` without dropout.
    fn merge_all(&self, symbols: &mut [Symbol], heap: &mut BinaryHeap<Reverse<u64>>) {
        heap.clear();
        for pos in 0..symbols.len() - 1 {
            if let Some(&(rank, _)) = self
                .merge_map
                .get(&pack(symbols[pos].id, symbols[pos + 1].id))
            {
                heap.push(candidate(rank, pos));
            }
        }
        while let Some(Reverse(key)) = heap.pop() {
            let (rank, pos) = ((key >> 32) as usize, (key & 0xFFFF_FFFF) as usize);
            let new_id = self.merged_ids[rank];
            let current = symbols[pos];
            if !current.alive || current.next == -1 {
                continue;
            }
            let next_pos = current.next as usize;
            let right = symbols[next_pos];
            // Skip entries made stale by an earlier merge.
            match self.merge_map.get(&pack(current.id, right.id)) {
                Some(&(_, id)) if id == new_id => {}
                _ => continue,
            }
            symbols[pos].id = new_id;
            symbols[pos].next = right.next;
            symbols[next_pos].alive = false;
            if right.next >= 0 {
                symbols[right.next as usize].prev = pos as isize;
            }
            let merged = symbols[pos];
            if merged.prev >= 0 {
                let prev = merged.prev as usize;
                if let Some(&(rank, _)) = self.merge_map.get(&pack(symbols[prev].id, merged.id)) {
                    heap.push(candidate(rank, prev));
                }
            }
            if merged.next >= 0 {
                let next = merged.next as usize;
                if let Some(&(rank, _)) = self.merge_map.get(&pack(merged.id, symbols[next].id)) {
                    heap.push(candidate(rank, pos));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        out
    }

    #[test]
    fn lowest_rank_first() {
        let bpe = toy();
        assert_eq!(encode(&bpe, "abc"), vec![5]);
        assert_eq!(encode(&bpe, "bc"), vec![4]);
        assert_eq!(encode(&bpe, "abab"), vec![3, 3]);
        assert_eq!(encode(&bpe, "cab"), vec![2, 3]);
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
    }
}
