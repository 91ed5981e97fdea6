//! A read-only trie over token spellings, laid out for the backtracking encoder's longest match.
//!
//! The search walks one trie edge per unit of the piece (about 1,300 steps for a 700-unit FAST
//! chunk), so the walk's memory traffic is the encoder's cost. Nodes are numbered in depth-first
//! order with each node's heaviest child (most tokens below it) visited first: the path of a long
//! run, such as the runs of zero coefficients that fill FAST pieces, is then consecutive in memory.
//! A node's edges are contiguous, heaviest first, and scanned linearly; a node with many edges
//! keeps them sorted by unit instead, and also gets a table indexed by unit over the range of its
//! edges' units when that range is not much wider than the edge count (the nodes of the first
//! coefficient of a piece: FAST units are nearby coefficients, so their ranges are dense).
//! Noisy chunks leave the heavy path at nearly every step, and a bisection over a few dozen edges
//! cost more than the rest of the step; the tables hold a few thousand entries for FAST
//! vocabularies. Nodes whose range is too sparse are bisected. All arrays are a few hundred
//! kilobytes at most for FAST vocabularies, against megabytes for a hash table of edges.
//!
//! [`Trie::longest_match`] walks to where the piece leaves the trie and reads the deepest token
//! on that path from a per-node table, so each step is a comparison with the dense array of
//! heavy-edge units and an increment, not a node visit.
//!
//! When it is small (at most 2^18 entries of 16 bits: FAST vocabularies have about a thousand
//! nodes and a hundred or two units on edges), a step off the heavy path reads the child from a
//! matrix ([`DenseEdges`]): two loads and no branch, where the edge scan and the choice between
//! scan, table and bisection mispredicted on noisy chunks, which leave the heavy path at nearly
//! every step. The matrix is stored column by column (one column per unit), so a run of one unit
//! along the heavy path reads consecutive entries; a column's offset is looked up per unit, so a
//! step is an add and a load, no multiply.
//!
//! The walk has two steps, chosen per piece by the caller (same result): the heavy edge first,
//! then the matrix, or the matrix alone. Trying the heavy edge first is fastest on long runs of
//! zeros: the branch is predicted along the run and the steps do not wait on each other's loads
//! (tokenizer with the two-byte zero fitted on 50x14 chunks, 160x2 smooth chunks: 33 ns per
//! value through a row-major matrix alone, 17 with the heavy edge first). On noisy pieces it is
//! taken about half the time and mispredicts: the matrix alone halved the mispredicted branches
//! of 160x14 noisy chunks (1.53 to 0.68 per value) and took them from 18.7 to 16.8 ns per value
//! (FAST tokenizer fitted on 50x14 smooth chunks).

use super::NONE;

/// Above this many edges a node's edges are sorted by unit, and bisected or looked up in a table.
const LINEAR_EDGES: usize = 8;

/// A wide node gets a table when the range of its units is at most this many times its edges
/// (FAST vocabularies: 9 to 13 times on average)...
const TABLE_DENSITY: usize = 32;
/// ... and while all tables together hold at most this many entries (256 KiB): a few thousand
/// for FAST vocabularies, a bound for text vocabularies.
const TABLE_BUDGET: usize = 1 << 16;

/// One node: its range in [`Trie::edges`].
#[derive(Clone, Copy, Debug)]
struct Node {
    first_edge: u32,
    edge_count: u32,
    /// Offset in [`Trie::tables`] of the node's table (wide nodes only), or [`NONE`].
    table: u32,
}

/// Every node's children as a matrix over the units that occur on some edge, stored column by
/// column: a step off the heavy path is two loads and no data-dependent branch, where the edge
/// scan mispredicts on noisy chunks. Column-major so that a run of one unit along the heavy path
/// (consecutive node numbers) reads consecutive entries, as `heavy` does. Built when the matrix
/// is small (FAST vocabularies: a thousand nodes by a hundred or two units). Entries are 16 bits,
/// which halves the matrix's cache footprint (noisy chunks 2 to 4% faster than with 32 bits), so
/// it is built only for tries of fewer than [`DenseEdges::NONE`] nodes.
#[derive(Clone, Debug)]
struct DenseEdges {
    /// Per unit: the offset of its column in `child` (`column * nodes`); 0, the offset of a
    /// column of [`NONE`], for units on no edge.
    offset: Box<[u32]>,
    /// `child[offset[unit] + node]`, or [`DenseEdges::NONE`].
    child: Box<[u16]>,
}

impl DenseEdges {
    /// Largest matrix built, in entries (512 KiB).
    const MAX_ENTRIES: usize = 1 << 18;
    /// No child (and the bound on the trie's nodes).
    const NONE: u16 = u16::MAX;

    fn new(
        units: usize,
        nodes: usize,
        edges_of: impl Fn(usize) -> Vec<(u32, u32)>,
    ) -> Option<Self> {
        let mut column = vec![0u32; units];
        let mut width = 1;
        for node in 0..nodes {
            for (unit, _) in edges_of(node) {
                let slot = column.get_mut(unit as usize)?;
                if *slot == 0 {
                    *slot = width as u32;
                    width += 1;
                }
            }
        }
        if nodes.checked_mul(width)? > Self::MAX_ENTRIES || nodes >= usize::from(Self::NONE) {
            return None;
        }
        let mut child = vec![Self::NONE; nodes * width].into_boxed_slice();
        for node in 0..nodes {
            for (unit, c) in edges_of(node) {
                // Below `nodes`, so below `Self::NONE`.
                child[column[unit as usize] as usize * nodes + node] = c as u16;
            }
        }
        let offset = column.iter().map(|&c| c * nodes as u32).collect();
        Some(Self { offset, child })
    }

    /// The child of `node` along `unit`, or [`DenseEdges::NONE`].
    #[inline(always)]
    fn child(&self, node: u32, unit: u32) -> u16 {
        let offset = self.offset.get(unit as usize).map_or(0, |&o| o as usize);
        self.child[offset + node as usize]
    }
}

/// Trie over sequences of units (token ids of the symbols the merge loop starts from).
#[derive(Clone, Debug)]
pub(super) struct Trie {
    /// The children as a matrix, when small enough.
    dense: Option<DenseEdges>,
    /// Child of the root for each unit, or [`NONE`].
    root: Vec<u32>,
    nodes: Vec<Node>,
    /// Per node: the unit of the edge to its heaviest child, which is the next node (or
    /// [`NONE`]). Following it needs no load of the node, so a run is walked at the speed of
    /// comparing two arrays.
    heavy: Vec<u32>,
    /// Per node: the deepest token on the path from the root to it (itself included) and that
    /// token's length in units, or `(NONE, 0)`: the longest match is read off the node where
    /// the walk stops instead of being tracked at every step.
    deepest: Vec<(u32, u32)>,
    /// `(unit, child)`, grouped by parent.
    edges: Vec<(u32, u32)>,
    /// Per wide node with a table: its lowest unit, the range's length, then the child of each
    /// unit of the range (or [`NONE`]).
    tables: Vec<u32>,
}

/// The trie while it is built: children in insertion order.
#[derive(Default)]
pub(super) struct TrieBuilder {
    root: Vec<u32>,
    tokens: Vec<u32>,
    children: Vec<Vec<(u32, u32)>>,
}

impl TrieBuilder {
    /// An empty trie over units below `units`.
    pub(super) fn new(units: usize) -> Self {
        Self {
            root: vec![NONE; units],
            ..Self::default()
        }
    }

    fn new_node(&mut self) -> u32 {
        self.tokens.push(NONE);
        self.children.push(Vec::new());
        self.tokens.len() as u32 - 1
    }

    /// Adds `token`, spelled `spelling` (not empty; every unit below the builder's bound).
    pub(super) fn insert(&mut self, spelling: &[u32], token: u32) {
        let first = spelling[0] as usize;
        if self.root[first] == NONE {
            self.root[first] = self.new_node();
        }
        let mut node = self.root[first];
        for &unit in &spelling[1..] {
            node = match self.children[node as usize]
                .iter()
                .find(|&&(u, _)| u == unit)
            {
                Some(&(_, child)) => child,
                None => {
                    let child = self.new_node();
                    self.children[node as usize].push((unit, child));
                    child
                }
            };
        }
        self.tokens[node as usize] = token;
    }

    /// The read-only trie in depth-first, heaviest-child-first order.
    pub(super) fn build(self) -> Trie {
        let n = self.tokens.len();
        // Tokens at or below each node; children are created after their parent, so a reverse
        // pass over the nodes sees every child before its parent.
        let mut weight = vec![0u32; n];
        for node in (0..n).rev() {
            weight[node] += u32::from(self.tokens[node] != NONE);
            for &(_, child) in &self.children[node] {
                weight[node] += weight[child as usize];
            }
        }
        let mut renumber = vec![NONE; n];
        let mut order = Vec::with_capacity(n);
        // Deepest token on the path to each (old) node, filled top-down with the numbering.
        let mut deepest_old = vec![(NONE, 0u32); n];
        let mut stack: Vec<(u32, (u32, u32), u32)> = Vec::new();
        for &top in self.root.iter().filter(|&&r| r != NONE) {
            stack.push((top, (NONE, 0), 1));
            while let Some((node, above, depth)) = stack.pop() {
                let here = if self.tokens[node as usize] != NONE {
                    (self.tokens[node as usize], depth)
                } else {
                    above
                };
                deepest_old[node as usize] = here;
                renumber[node as usize] = order.len() as u32;
                order.push(node);
                let mut kids: Vec<u32> = self.children[node as usize]
                    .iter()
                    .map(|&(_, c)| c)
                    .collect();
                // Pushed lightest first, so the heaviest child is numbered right after `node`.
                kids.sort_by_key(|&c| (weight[c as usize], std::cmp::Reverse(c)));
                stack.extend(kids.into_iter().map(|c| (c, here, depth + 1)));
            }
        }
        let mut nodes = Vec::with_capacity(n);
        let mut heavy = Vec::with_capacity(n);
        let mut edges = Vec::with_capacity(n);
        let mut tables = Vec::new();
        for &old in &order {
            let mut kids: Vec<(u32, u32)> = self.children[old as usize]
                .iter()
                .map(|&(unit, c)| (unit, renumber[c as usize]))
                .collect();
            if kids.len() > LINEAR_EDGES {
                kids.sort_unstable();
            } else {
                kids.sort_by_key(|&(_, c)| std::cmp::Reverse(weight[order[c as usize] as usize]));
            }
            heavy.push(
                kids.iter()
                    .find(|&&(_, c)| c as usize == nodes.len() + 1)
                    .map_or(NONE, |&(unit, _)| unit),
            );
            let mut table = NONE;
            if kids.len() > LINEAR_EDGES {
                let (low, high) = (kids[0].0, kids[kids.len() - 1].0);
                let span = (high - low) as usize + 1;
                if span <= TABLE_DENSITY * kids.len() && tables.len() + span + 2 <= TABLE_BUDGET {
                    table = tables.len() as u32;
                    tables.extend([low, span as u32]);
                    let start = tables.len();
                    tables.resize(start + span, NONE);
                    for &(unit, child) in &kids {
                        tables[start + (unit - low) as usize] = child;
                    }
                }
            }
            nodes.push(Node {
                first_edge: edges.len() as u32,
                edge_count: kids.len() as u32,
                table,
            });
            edges.extend(kids);
        }
        let root = self
            .root
            .iter()
            .map(|&r| {
                if r == NONE {
                    NONE
                } else {
                    renumber[r as usize]
                }
            })
            .collect();
        let deepest = order.iter().map(|&old| deepest_old[old as usize]).collect();
        let dense = DenseEdges::new(self.root.len(), nodes.len(), |node| {
            let Node {
                first_edge,
                edge_count,
                ..
            } = nodes[node];
            edges[first_edge as usize..(first_edge + edge_count) as usize].to_vec()
        });
        Trie {
            dense,
            root,
            nodes,
            heavy,
            deepest,
            edges,
            tables,
        }
    }
}

impl Trie {
    /// The node for the one-unit spelling `unit`, or [`NONE`].
    #[inline]
    pub(super) fn root_child(&self, unit: u32) -> u32 {
        self.root.get(unit as usize).copied().unwrap_or(NONE)
    }

    /// The longest token that `units[pos..]` starts with and its length in units, or `None`.
    ///
    /// `RUNS` chooses the step of the matrix walk (the result is the same): with it, the heavy
    /// edge is tried first, which walks long runs fastest (the branch is predicted along the
    /// run, so the steps do not wait on each other's loads); without it, every step is the
    /// matrix load alone, which does not mispredict on noisy pieces, where the heavy edge is
    /// taken about half the time.
    #[inline(always)]
    pub(super) fn longest_match<const RUNS: bool>(
        &self,
        units: &[u32],
        pos: usize,
    ) -> Option<(u32, usize)> {
        let mut node = self.root_child(units[pos]);
        if node == NONE {
            return None;
        }
        if let Some(dense) = &self.dense {
            for &unit in &units[pos + 1..] {
                if RUNS && self.heavy[node as usize] == unit {
                    node += 1;
                    continue;
                }
                let next = dense.child(node, unit);
                if next == DenseEdges::NONE {
                    break;
                }
                node = u32::from(next);
            }
            let (token, len) = self.deepest[node as usize];
            return (token != NONE).then_some((token, len as usize));
        }
        for &unit in &units[pos + 1..] {
            let next = if self.heavy[node as usize] == unit {
                node + 1
            } else {
                self.light_child(node, unit)
            };
            if next == NONE {
                break;
            }
            node = next;
        }
        let (token, len) = self.deepest[node as usize];
        (token != NONE).then_some((token, len as usize))
    }

    /// The child of `node` along `unit` through its edge list (not the heavy edge), or
    /// [`NONE`].
    #[inline(always)]
    fn light_child(&self, node: u32, unit: u32) -> u32 {
        let Node {
            first_edge,
            edge_count,
            table,
        } = self.nodes[node as usize];
        let edges = &self.edges[first_edge as usize..(first_edge + edge_count) as usize];
        if edges.len() <= LINEAR_EDGES {
            edges
                .iter()
                .find(|&&(u, _)| u == unit)
                .map_or(NONE, |&(_, c)| c)
        } else if table != NONE {
            let t = table as usize;
            let at = unit.wrapping_sub(self.tables[t]);
            if at < self.tables[t + 1] {
                self.tables[t + 2 + at as usize]
            } else {
                NONE
            }
        } else {
            edges
                .binary_search_by_key(&unit, |&(u, _)| u)
                .map_or(NONE, |i| edges[i].1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The token spelled exactly by `spelling`, or [`NONE`].
    fn lookup(trie: &Trie, spelling: &[u32]) -> u32 {
        match trie.longest_match::<true>(spelling, 0) {
            Some((token, len)) if len == spelling.len() => token,
            _ => NONE,
        }
    }

    #[test]
    fn finds_every_spelling_and_nothing_else() {
        // A long run (heavy path), a wide node (bisected) and short branches.
        let mut spellings: Vec<Vec<u32>> = (1..30).map(|k| vec![5; k]).collect();
        // Wide nodes: dense units (a table), units from 40 up (a table not starting at 0), and
        // sparse units (bisected).
        spellings.extend((0..20).map(|u| vec![7, u]));
        spellings.extend((40..52).map(|u| vec![8, u, 1]));
        spellings.extend((0..12).map(|k| vec![9, 1000 * k + 3]));
        spellings.extend([vec![7], vec![1, 2, 3], vec![1, 3], vec![19, 5, 5, 5]]);
        let mut builder = TrieBuilder::new(20);
        for (token, s) in spellings.iter().enumerate() {
            builder.insert(s, token as u32);
        }
        let trie = builder.build();
        for (token, s) in spellings.iter().enumerate() {
            assert_eq!(lookup(&trie, s), token as u32, "{s:?}");
        }
        for absent in [
            vec![1],
            vec![1, 2],
            vec![5; 31],
            vec![7, 0, 0],
            vec![3],
            vec![19, 5],
            vec![7, 20],
            vec![7, u32::MAX],
            vec![8, 39, 1],
            vec![8, 52, 1],
            vec![8, 0, 1],
            vec![8, 45],
            vec![9, 2],
            vec![9, 1002],
            vec![9, 11_004],
            vec![9, 12_003],
        ] {
            assert_eq!(lookup(&trie, &absent), NONE, "{absent:?}");
        }
        // Longest matches, against a scan over all spellings.
        let texts: [&[u32]; 8] = [
            &[5; 40],
            &[7, 3, 9],
            &[1, 2, 3, 4],
            &[19, 5, 5, 5, 5],
            &[1, 2],
            &[8, 44, 1, 8, 51, 2],
            &[9, 5003, 9, 5004],
            &[8, 40, 7, 19, 9, 3],
        ];
        for text in texts {
            for pos in 0..text.len() {
                let expected = spellings
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| text[pos..].starts_with(s))
                    .max_by_key(|(_, s)| s.len())
                    .map(|(t, s)| (t as u32, s.len()));
                assert_eq!(
                    trie.longest_match::<true>(text, pos),
                    expected,
                    "{text:?} at {pos}"
                );
                assert_eq!(
                    trie.longest_match::<false>(text, pos),
                    expected,
                    "{text:?} at {pos}"
                );
            }
        }
        // Which wide nodes got a table.
        let table_of = |unit: u32| trie.nodes[trie.root_child(unit) as usize].table;
        assert_ne!(table_of(7), NONE);
        assert_ne!(table_of(8), NONE);
        assert_eq!(table_of(9), NONE);
        // The run of 5s is consecutive: each node's heaviest child comes right after it.
        let node = trie.root_child(5) as usize;
        assert!(trie.heavy[node..node + 28].iter().all(|&unit| unit == 5));
    }

    /// The longest match by a scan over all spellings.
    fn scan(spellings: &[Vec<u32>], text: &[u32], pos: usize) -> Option<(u32, usize)> {
        spellings
            .iter()
            .enumerate()
            .filter(|(_, s)| text[pos..].starts_with(s))
            .max_by_key(|(_, s)| s.len())
            .map(|(t, s)| (t as u32, s.len()))
    }

    proptest::proptest! {
        /// The matrix walk and the edge-list walk both find the longest match, on tries with
        /// runs, wide nodes (units up to 40) and units on no edge.
        #[test]
        fn dense_and_edge_walks_find_the_longest_match(
            spellings in proptest::collection::btree_set(
                proptest::collection::vec(0u32..40, 1..8), 1..80),
            runs in proptest::collection::vec(1usize..30, 0..4),
            texts in proptest::collection::vec(proptest::collection::vec(0u32..44, 1..40), 1..8),
        ) {
            let mut spellings: Vec<Vec<u32>> = spellings.into_iter().collect();
            for k in runs {
                if !spellings.contains(&vec![3; k]) {
                    spellings.push(vec![3; k]);
                }
            }
            let mut builder = TrieBuilder::new(44);
            for (token, s) in spellings.iter().enumerate() {
                builder.insert(s, token as u32);
            }
            let trie = builder.build();
            proptest::prop_assert!(trie.dense.is_some());
            let edges_only = Trie { dense: None, ..trie.clone() };
            for text in &texts {
                for pos in 0..text.len() {
                    let expected = scan(&spellings, text, pos);
                    proptest::prop_assert_eq!(trie.longest_match::<true>(text, pos), expected);
                    proptest::prop_assert_eq!(trie.longest_match::<false>(text, pos), expected);
                    proptest::prop_assert_eq!(edges_only.longest_match::<true>(text, pos), expected);
                    proptest::prop_assert_eq!(edges_only.longest_match::<false>(text, pos), expected);
                }
            }
        }
    }
}
