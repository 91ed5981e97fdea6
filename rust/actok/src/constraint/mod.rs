//! Constrained decoding: which token ids keep a sequence decodable (`docs/semantics.md`,
//! "Constrained decoding").
//!
//! A model generating FAST tokens can produce sequences that do not decode: the wrong number of
//! coefficients, or bytes that are not UTF-8. A [`Constraint`] follows a sequence token by token
//! and gives, at each step, the exact set of ids after which some continuation still decodes
//! with `on_error="raise"` to the chunk shape it was built for: masking the model's logits with
//! it makes every generated sequence decodable, and removes nothing that could have decoded.
//! [`ConstraintBatch`] does the same for a batch of rows, optionally in a language model's
//! vocabulary (a [`VocabMapping`] from action ids to model ids, with an end-of-actions id).
//!
//! The automaton is solved once per vocabulary and shape ([`ConstraintTable`], `table.rs`, over
//! the partial-character states of `utf8.rs`); a step is then a table lookup and a mask copy.

mod batch;
mod table;
mod utf8;
mod vocab_map;

use std::sync::Arc;

pub use batch::{ConstraintBatch, NO_TOKEN};
pub use table::ConstraintTable;
pub use utf8::Pending;
pub use vocab_map::{openpi_vocab_map, VocabMapping};

use crate::error::{ConstraintState, Error, Result};
use crate::fast::tokenizer::FastTokenizer;
use crate::token_id::InputId;
use utf8::BOUNDARY;

impl FastTokenizer {
    /// The solved constraint automaton of this vocabulary for `(horizon, dim)` chunks, to share
    /// between [`Constraint`]s and [`ConstraintBatch`]es. Fails when the shape is not at least
    /// `(1, 1)`, or when no token sequence decodes to `horizon × dim` coefficients at all.
    pub fn constraint_table(&self, horizon: usize, dim: usize) -> Result<Arc<ConstraintTable>> {
        ConstraintTable::new(self.bpe(), horizon, dim).map(Arc::new)
    }

    /// A [`Constraint`] for one sequence of `(horizon, dim)` chunks, at its start.
    pub fn constraint(&self, horizon: usize, dim: usize) -> Result<Constraint> {
        Ok(Constraint::new(self.constraint_table(horizon, dim)?))
    }
}

/// One sequence under construction: the ids allowed next, and whether it may end.
///
/// ```
/// # let tok = actok::FastTokenizer::from_json(
/// #     include_str!("../../../../python/actok/data/robosuite_fast/tokenizer.json"),
/// #     include_str!("../../../../python/actok/data/robosuite_fast/processor_config.json"),
/// # )?;
/// let mut c = tok.constraint(2, 3)?;
/// let mut ids = Vec::new();
/// while !c.is_complete() {
///     // A model would sample from its logits where `c.mask()` is true; take the last allowed.
///     let id = c.mask().iter().rposition(|&allowed| allowed).unwrap() as i64;
///     c.advance(id)?;
///     ids.push(id);
/// }
/// let decoded = tok.decode(&[ids], 2, 3, actok::OnDecodeError::Raise)?;
/// assert_eq!(decoded.actions.len(), 6);
/// # Ok::<(), actok::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Constraint {
    table: Arc<ConstraintTable>,
    state: u8,
    count: usize,
    position: usize,
}

impl Constraint {
    /// A constraint at the start of a sequence.
    pub fn new(table: Arc<ConstraintTable>) -> Self {
        Self {
            table,
            state: BOUNDARY,
            count: 0,
            position: 0,
        }
    }

    /// The shared automaton.
    pub fn table(&self) -> &Arc<ConstraintTable> {
        &self.table
    }

    /// `mask()[id]` is true exactly when some continuation after `id` decodes (one entry per
    /// vocabulary id). All false once the sequence is complete (unless the vocabulary has a
    /// token of no bytes).
    #[inline]
    pub fn mask(&self) -> &[bool] {
        self.table
            .mask(self.table.mask_index(self.state, self.count))
    }

    /// Copies [`Constraint::mask`] into `out`, which must hold one entry per vocabulary id.
    pub fn mask_into(&self, out: &mut [bool]) -> Result<()> {
        if out.len() != self.table.vocab_len() {
            return Err(Error::InvalidArgument(format!(
                "the mask has {} entries, one per vocabulary id, but out has {}",
                self.table.vocab_len(),
                out.len()
            )));
        }
        out.copy_from_slice(self.mask());
        Ok(())
    }

    /// Appends token `id`, or fails with [`Error::NotAllowed`] (naming the id, the position and
    /// the state) when the mask excludes it; the state is then unchanged.
    /// The id is any [`InputId`] integer (`i64` from a model, `u32` from `encode`).
    #[inline]
    pub fn advance(&mut self, id: impl InputId) -> Result<()> {
        let id = id.value();
        match self.table.advance(self.state, self.count, id) {
            Ok((state, count)) => {
                self.state = state;
                self.count = count;
                self.position += 1;
                Ok(())
            }
            Err(reason) => Err(Error::NotAllowed {
                row: None,
                position: self.position,
                id,
                state: self.state(),
                reason,
            }),
        }
    }

    /// True exactly when the ids so far decode (`on_error="raise"`) to the chunk shape.
    #[inline]
    pub fn is_complete(&self) -> bool {
        self.table.is_complete(self.state, self.count)
    }

    /// Back to the start of a sequence.
    pub fn reset(&mut self) {
        self.state = BOUNDARY;
        self.count = 0;
        self.position = 0;
    }

    /// Coefficients finished so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Tokens advanced so far.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Where the sequence stands (as [`Error::NotAllowed`] reports it).
    pub fn state(&self) -> ConstraintState {
        ConstraintState {
            count: self.count,
            expected: self.table.len(),
            pending: ConstraintTable::pending(self.state),
            finished: false,
        }
    }
}
