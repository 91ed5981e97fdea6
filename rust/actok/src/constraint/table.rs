//! The constraint automaton of one vocabulary and chunk length `N = H·D`, solved once.
//!
//! `decode(..., on_error="raise")` accepts a sequence exactly when every id is known, the tokens'
//! bytes are valid UTF-8 and they hold exactly `N` characters; no other rule applies (any Unicode
//! scalar value is a coefficient, `docs/semantics.md#decode`). So a prefix is in the state
//! `(s, r)`: `s` the pending partial character (`utf8.rs`, eight states) and `r` the characters
//! still missing. Per state and token this table stores whether the token's bytes are valid from
//! the state, how many characters they finish and the state they leave. A dynamic program over
//! `r` then decides which states are *live* (some token sequence leads from them to the end):
//!
//! ```text
//! live(s, r) = (s = boundary and r = 0)
//!           or some token valid from s finishing k ≤ r characters into s' has live(s', r - k)
//! ```
//!
//! The tokens allowed in `(s, r)` are those valid from `s` with `k ≤ r` and `live(s', r - k)`.
//! That set is sound (each leads to a live state, from which a completion exists) and maximal
//! (each other token is invalid, overshoots, or leads to a state from which nothing completes),
//! because `live` is exact: it is the reachability of the one accepting state in a finite graph.
//!
//! Masks are computed once per distinct situation, not per `(s, r)`: the mask of `(s, r)`
//! depends only on `s` and on which of its moves land on live states, which is the same for
//! almost every `r` (far from the end everything reachable is live). Identical masks are stored
//! once, so a step is a lookup plus a copy of the mask.

use rustc_hash::FxHashMap;

use crate::bpe::Bpe;
use crate::constraint::utf8::{self, Pending, BOUNDARY, INVALID, STATES};
use crate::error::{Error, Refusal, Result};

/// What one token does from one state.
#[derive(Clone, Copy, Debug)]
struct Step {
    /// The state after the token, [`INVALID`] when its bytes are not valid UTF-8 there.
    next: u8,
    /// Characters (coefficients) the token finishes.
    chars: u32,
}

/// No mask: the state is not live, so no prefix reaches it.
const NO_MASK: u32 = u32::MAX;

/// The solved automaton of a vocabulary and a chunk shape: shared (behind an `Arc`) by every
/// [`crate::Constraint`] and [`crate::ConstraintBatch`] built from it.
#[derive(Debug)]
pub struct ConstraintTable {
    vocab_len: usize,
    horizon: usize,
    dim: usize,
    /// `N = horizon · dim`, the characters a complete sequence holds.
    len: usize,
    /// `steps[s · vocab_len + id]`.
    steps: Vec<Step>,
    /// `live[r · STATES + s]` for `r` in `0..=len`.
    live: Vec<bool>,
    /// `mask_of[r · STATES + s]`: the index of the state's mask in `masks`, or [`NO_MASK`].
    mask_of: Vec<u32>,
    /// The distinct masks, `vocab_len` entries each.
    masks: Vec<bool>,
}

impl ConstraintTable {
    /// Solves the automaton of `bpe`'s vocabulary for chunks of `horizon × dim` coefficients.
    pub(crate) fn new(bpe: &Bpe, horizon: usize, dim: usize) -> Result<Self> {
        if horizon == 0 || dim == 0 {
            return Err(Error::InvalidArgument(format!(
                "invalid chunk shape ({horizon}, {dim}): time_horizon and action_dim must both \
                 be at least 1"
            )));
        }
        let len = horizon.checked_mul(dim).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "invalid chunk shape ({horizon}, {dim}): more coefficients than memory holds"
            ))
        })?;
        let vocab_len = bpe.vocab_len();
        let too_big = || {
            Error::InvalidArgument(format!(
                "cannot build a constraint for chunks of ({horizon}, {dim}) = {len} \
                 coefficients: out of memory (are time_horizon and action_dim right?)"
            ))
        };
        let states_len = len
            .checked_add(1)
            .and_then(|n| n.checked_mul(STATES))
            .ok_or_else(too_big)?;

        let mut steps = Vec::with_capacity(STATES * vocab_len);
        for state in 0..STATES as u8 {
            for id in 0..vocab_len as u32 {
                let bytes = bpe.token_bytes(id).unwrap_or_default();
                let (next, chars) = utf8::read(state, bytes);
                steps.push(Step {
                    next,
                    // Saturating is harmless: no chunk holds that many characters.
                    chars: u32::try_from(chars).unwrap_or(u32::MAX),
                });
            }
        }

        // The distinct moves (characters, next state) of each state; a token that changes
        // nothing (an empty one) cannot make a state live and is left out.
        let mut moves: Vec<Vec<(usize, usize)>> = vec![Vec::new(); STATES];
        for (s, list) in moves.iter_mut().enumerate() {
            let row = &steps[s * vocab_len..(s + 1) * vocab_len];
            list.extend(
                row.iter()
                    .filter(|st| st.next != INVALID && !(st.chars == 0 && st.next as usize == s))
                    .map(|st| (st.chars as usize, st.next as usize)),
            );
            list.sort_unstable();
            list.dedup();
        }
        // Moves finishing no character go from the boundary to a pending state or lower what a
        // pending state owes, so the pending states in index order (by bytes owed), then the
        // boundary, see every same-`r` state they depend on already solved.
        let mut live = try_vec(states_len, false).ok_or_else(too_big)?;
        let order: Vec<usize> = (1..STATES).chain([BOUNDARY as usize]).collect();
        for r in 0..=len {
            for &s in &order {
                let value = (s == BOUNDARY as usize && r == 0)
                    || moves[s]
                        .iter()
                        .any(|&(k, next)| k <= r && live[(r - k) * STATES + next]);
                live[r * STATES + s] = value;
            }
        }
        if !live[len * STATES + BOUNDARY as usize] {
            return Err(Error::InvalidArgument(format!(
                "no sequence of this vocabulary's {vocab_len} tokens decodes to exactly \
                 {len} = {horizon} x {dim} coefficients, so nothing can be generated for that \
                 shape: check time_horizon and action_dim"
            )));
        }

        let mut table = Self {
            vocab_len,
            horizon,
            dim,
            len,
            steps,
            live,
            mask_of: try_vec(states_len, NO_MASK).ok_or_else(too_big)?,
            masks: Vec::new(),
        };
        table.fill_masks();
        Ok(table)
    }

    /// Computes the mask of every live state. The mask of `(s, r)` is a function of which of
    /// `s`'s distinct moves `(k, s')` land on a live `(s', r - k)`: that vector (the *key*) takes
    /// few values over all `r` (it changes only near the end of a sequence), so each key's mask
    /// is computed once, and identical masks are stored once.
    fn fill_masks(&mut self) {
        let v = self.vocab_len;
        let mut distinct: FxHashMap<Vec<bool>, u32> = FxHashMap::default();
        let mut mask = vec![false; v];
        let mut key = Vec::new();
        for s in 0..STATES {
            let row = &self.steps[s * v..(s + 1) * v];
            let mut moves: Vec<(usize, usize)> = row
                .iter()
                .filter(|st| st.next != INVALID && st.chars as usize <= self.len)
                .map(|st| (st.chars as usize, st.next as usize))
                .collect();
            moves.sort_unstable();
            moves.dedup();
            // Each token's move, by index into `moves`; `u32::MAX` for a token never allowed.
            let token_move: Vec<u32> = row
                .iter()
                .map(|st| {
                    moves
                        .binary_search(&(st.chars as usize, st.next as usize))
                        .map_or(u32::MAX, |i| i as u32)
                })
                .collect();
            let mut by_key: FxHashMap<Vec<bool>, u32> = FxHashMap::default();
            for r in 0..=self.len {
                if !self.live[r * STATES + s] {
                    continue;
                }
                key.clear();
                key.extend(
                    moves
                        .iter()
                        .map(|&(k, next)| k <= r && self.live[(r - k) * STATES + next]),
                );
                let id = match by_key.get(key.as_slice()) {
                    Some(&id) => id,
                    None => {
                        for (allowed, &m) in mask.iter_mut().zip(&token_move) {
                            *allowed = m != u32::MAX && key[m as usize];
                        }
                        let next = (self.masks.len() / v.max(1)) as u32;
                        let id = *distinct.entry(mask.clone()).or_insert_with(|| {
                            self.masks.extend_from_slice(&mask);
                            next
                        });
                        by_key.insert(key.clone(), id);
                        id
                    }
                };
                self.mask_of[r * STATES + s] = id;
            }
        }
    }

    /// The number of token ids (the length of every mask).
    pub fn vocab_len(&self) -> usize {
        self.vocab_len
    }

    /// The chunk's time horizon `H`.
    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// The chunk's action dimension `D`.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// `H·D`: the coefficients (characters) of a complete sequence.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a table is for at least one coefficient (clippy's `len` companion).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many distinct masks the table stores (all states share them).
    pub fn distinct_masks(&self) -> usize {
        self.masks.len() / self.vocab_len.max(1)
    }

    /// The mask of state `s` with `count` coefficients done; `s` must be live there (every
    /// state a constraint reaches is).
    #[inline]
    pub(crate) fn mask_index(&self, s: u8, count: usize) -> u32 {
        let index = self.mask_of[(self.len - count) * STATES + s as usize];
        debug_assert_ne!(index, NO_MASK, "constraints only reach live states");
        index
    }

    /// Mask number `index` (from [`ConstraintTable::mask_index`]).
    #[inline]
    pub(crate) fn mask(&self, index: u32) -> &[bool] {
        let start = index as usize * self.vocab_len;
        &self.masks[start..start + self.vocab_len]
    }

    /// The state after token `id` from state `s` with `count` coefficients done, and the new
    /// count; or why the token is refused there.
    #[inline]
    pub(crate) fn advance(&self, s: u8, count: usize, id: i128) -> Result<(u8, usize), Refusal> {
        let Some(id) = usize::try_from(id).ok().filter(|&i| i < self.vocab_len) else {
            return Err(Refusal::UnknownId {
                vocab_len: self.vocab_len,
            });
        };
        let step = self.steps[s as usize * self.vocab_len + id];
        let remaining = self.len - count;
        let k = step.chars as usize;
        if step.next != INVALID
            && k <= remaining
            && self.live[(remaining - k) * STATES + step.next as usize]
        {
            return Ok((step.next, count + k));
        }
        Err(if remaining == 0 && s == BOUNDARY {
            Refusal::Complete
        } else if step.next == INVALID {
            Refusal::InvalidUtf8
        } else if k > remaining {
            Refusal::TooMany {
                chars: k,
                remaining,
            }
        } else {
            Refusal::NoCompletion
        })
    }

    /// Whether a sequence in state `s` with `count` coefficients may end there.
    #[inline]
    pub(crate) fn is_complete(&self, s: u8, count: usize) -> bool {
        s == BOUNDARY && count == self.len
    }

    /// The pending character of state `s`, for messages.
    pub(crate) fn pending(s: u8) -> Option<Pending> {
        utf8::pending_of(s)
    }
}

/// `n` copies of `value`, or `None` when the memory is not there (a huge `H·D`).
fn try_vec<T: Clone>(n: usize, value: T) -> Option<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).ok()?;
    v.resize(n, value);
    Some(v)
}
