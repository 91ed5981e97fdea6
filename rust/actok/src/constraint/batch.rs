//! [`ConstraintBatch`]: one constrained sequence per row of a generation batch, with masks in
//! the tokenizer's ids or in a language model's (`vocab_map.rs`).
//!
//! Rows finish at different steps while a generation loop keeps stepping every row, so a row
//! that is done must still get a mask and accept a step:
//!
//! - with an end id: a complete row's mask allows the end id (besides the tokens it allows, none
//!   for a real vocabulary); advancing the end id *finishes* the row. A finished row's mask is
//!   the end id alone, so a sampler never sees a row with nothing allowed (Hugging Face keeps
//!   feeding pad/eos to finished rows), and it accepts the end id again or the sentinel `-1`;
//! - without one: a complete row's mask is all false (the caller stops sampling it), and it
//!   accepts the sentinel `-1`, which leaves it as it is.
//!
//! `-1` for a row that is not complete is an error, as is any id the mask excludes.

use std::sync::Arc;

use crate::constraint::table::ConstraintTable;
use crate::constraint::utf8::BOUNDARY;
use crate::constraint::vocab_map::{ModelVocab, VocabMapping};
use crate::error::{shape_text, ConstraintState, Error, Refusal, Result};
use crate::parallel;
use crate::token_id::InputId;

/// The sentinel id for a row that takes no token this step (it must be complete).
pub const NO_TOKEN: i64 = -1;

/// Mask output below this many bytes is written on the calling thread: copying is memory
/// bound, and waking the pool costs more than copying half a megabyte.
const MIN_PARALLEL_BYTES: usize = 1 << 20;

/// Where one row stands.
#[derive(Clone, Copy, Debug)]
struct Row {
    state: u8,
    count: usize,
    position: usize,
    finished: bool,
}

impl Row {
    const START: Self = Self {
        state: BOUNDARY,
        count: 0,
        position: 0,
        finished: false,
    };
}

/// A batch of constrained sequences (see the module documentation for rows that are done).
#[derive(Clone, Debug)]
pub struct ConstraintBatch {
    table: Arc<ConstraintTable>,
    vocab: ModelVocab,
    rows: Vec<Row>,
    /// The rows as the current `advance` would leave them (applied only if every row passes).
    next: Vec<Row>,
}

impl ConstraintBatch {
    /// `batch` rows at their start, with masks laid out by `mapping` (checked here: see
    /// [`VocabMapping`]).
    pub fn new(table: Arc<ConstraintTable>, batch: usize, mapping: &VocabMapping) -> Result<Self> {
        let vocab = ModelVocab::new(&table, mapping)?;
        Ok(Self {
            table,
            vocab,
            rows: vec![Row::START; batch],
            next: Vec::with_capacity(batch),
        })
    }

    /// The shared automaton.
    pub fn table(&self) -> &Arc<ConstraintTable> {
        &self.table
    }

    /// The number of rows.
    pub fn batch(&self) -> usize {
        self.rows.len()
    }

    /// The width of a mask row: the model's vocabulary size, or the tokenizer's.
    pub fn width(&self) -> usize {
        self.vocab.width()
    }

    /// The end id, if the batch has one.
    pub fn end_id(&self) -> Option<usize> {
        self.vocab.end_id()
    }

    /// Writes the masks, row-major `(batch, width)`, into `out`, whose shape (as the caller's
    /// array has it) is `shape`. Large batches are written on actok's pool.
    pub fn mask_into(&self, out: &mut [bool], shape: &[usize]) -> Result<()> {
        let width = self.width();
        let expected = [self.batch(), width];
        if shape != expected || out.len() != self.batch() * width {
            return Err(Error::InvalidArgument(format!(
                "out has shape {}, but the masks are (batch, width) = {}",
                shape_text(shape),
                shape_text(&expected)
            )));
        }
        let min_parallel = (MIN_PARALLEL_BYTES / width.max(1)).max(2);
        parallel::for_each_block(
            out,
            width,
            min_parallel,
            || (),
            |_, b, row| self.write_row(&self.rows[b], row),
        )
    }

    /// The masks as a new `(batch, width)` row-major vector.
    pub fn mask(&self) -> Result<Vec<bool>> {
        let mut out = vec![false; self.batch() * self.width()];
        self.mask_into(&mut out, &[self.batch(), self.width()])?;
        Ok(out)
    }

    #[inline]
    fn write_row(&self, row: &Row, out: &mut [bool]) {
        if row.finished {
            out.fill(false);
        } else {
            let index = self.table.mask_index(row.state, row.count);
            self.vocab.write_row(&self.table, index, out);
        }
        if let Some(end) = self.vocab.end_id() {
            if row.finished || self.table.is_complete(row.state, row.count) {
                out[end] = true;
            }
        }
    }

    /// Appends `ids[b]` to row `b` for every row: a model id (the tokenizer's id without a
    /// map), the end id, or [`NO_TOKEN`] (`-1`) for a complete row. If any row refuses its id,
    /// fails with [`Error::NotAllowed`] for the first such row and changes no row.
    /// The ids are any [`InputId`] integers.
    pub fn advance<I: InputId>(&mut self, ids: &[I]) -> Result<()> {
        if ids.len() != self.rows.len() {
            return Err(Error::InvalidArgument(format!(
                "advance needs one id per row: got {} ids for {} rows",
                ids.len(),
                self.rows.len()
            )));
        }
        let mut next = std::mem::take(&mut self.next);
        next.clear();
        for (b, (row, id)) in self.rows.iter().zip(ids).enumerate() {
            let id = id.value();
            match self.step(row, id) {
                Ok(after) => next.push(after),
                Err(reason) => {
                    self.next = next;
                    return Err(Error::NotAllowed {
                        row: Some(b),
                        position: row.position,
                        id,
                        state: self.state_of(row),
                        reason,
                    });
                }
            }
        }
        self.next = std::mem::replace(&mut self.rows, next);
        Ok(())
    }

    /// Row `row` after `id`, or why it refuses `id`.
    #[inline]
    fn step(&self, row: &Row, id: i128) -> Result<Row, Refusal> {
        let complete = self.table.is_complete(row.state, row.count);
        if id == i128::from(NO_TOKEN) {
            return if row.finished || complete {
                Ok(*row)
            } else {
                Err(Refusal::SentinelTooEarly)
            };
        }
        let end = self.vocab.end_id();
        if end.is_some_and(|e| e as i128 == id) {
            return if row.finished || complete {
                Ok(Row {
                    finished: true,
                    position: row.position + usize::from(!row.finished),
                    ..*row
                })
            } else {
                Err(Refusal::EndTooEarly)
            };
        }
        if let Some(end_id) = end.filter(|_| row.finished) {
            return Err(Refusal::Finished { end_id });
        }
        let Some(action) = self.vocab.action_id(id) else {
            // In the tokenizer's own ids, an unknown id; in a model's, one of no action token.
            return Err(if self.vocab.is_plain() {
                Refusal::UnknownId {
                    vocab_len: self.width(),
                }
            } else {
                Refusal::NotMapped {
                    width: self.width(),
                }
            });
        };
        let (state, count) = self
            .table
            .advance(row.state, row.count, i128::from(action))?;
        Ok(Row {
            state,
            count,
            position: row.position + 1,
            finished: false,
        })
    }

    /// Whether each row may end where it is (complete, or finished with the end id).
    pub fn is_complete(&self) -> Vec<bool> {
        self.rows
            .iter()
            .map(|r| r.finished || self.table.is_complete(r.state, r.count))
            .collect()
    }

    /// Whether each row was ended with the end id.
    pub fn finished(&self) -> Vec<bool> {
        self.rows.iter().map(|r| r.finished).collect()
    }

    /// Where row `row` stands, `None` past the last row.
    pub fn state(&self, row: usize) -> Option<ConstraintState> {
        self.rows.get(row).map(|r| self.state_of(r))
    }

    fn state_of(&self, row: &Row) -> ConstraintState {
        ConstraintState {
            count: row.count,
            expected: self.table.len(),
            pending: ConstraintTable::pending(row.state),
            finished: row.finished,
        }
    }

    /// Every row back to its start.
    pub fn reset(&mut self) {
        self.rows.fill(Row::START);
    }
}
