//! Action ids inside a language model's vocabulary: the mapping a [`crate::ConstraintBatch`]
//! takes, its checks, and the masks laid out in model ids.
//!
//! VLAs place the action tokens among a language model's ids (openpi: FAST id `i` is PaliGemma
//! id `vocab_size - 1 - 128 - i`), and end the actions with an id of their own. A batch mask is
//! then a row of the model's width: the table's mask scattered through the map, plus the end id.
//! The scatter is done once per distinct mask when the batch is built: densely over the span of
//! the mapped ids when that span is small (openpi's map is one contiguous, reversed block), as a
//! list of allowed model ids otherwise.

use crate::constraint::table::ConstraintTable;
use crate::error::{Error, Result};

/// A dense span may be up to this many times the vocabulary (beyond, lists of ids are kept).
const DENSE_SPAN_FACTOR: usize = 4;

/// Where the action ids sit in the model's vocabulary ([`crate::ConstraintBatch::new`]).
/// The default is no mapping: masks over the tokenizer's own ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VocabMapping {
    /// `map[i]` is the model id of action id `i`: one per vocabulary id, distinct, in
    /// `0..model_vocab_size`. `None`: action id `i` is model id `i`.
    pub map: Option<Vec<i64>>,
    /// The width of the model's logits (every mask row). Required with `map`; without it, the
    /// vocabulary's length by default, and at least that.
    pub model_vocab_size: Option<usize>,
    /// The model id that ends the actions: allowed exactly when a row is complete, and after it
    /// only itself (or the sentinel `-1`). It must not be a mapped action id.
    pub end_id: Option<i64>,
}

/// openpi's placement of FAST ids in a language model's vocabulary (its `vocab_size - 1 - skip
/// - i`, with `skip = 128` for PaliGemma), as a `map` for [`VocabMapping`].
pub fn openpi_vocab_map(
    model_vocab_size: usize,
    vocab_len: usize,
    skip: usize,
) -> Result<Vec<i64>> {
    let top = model_vocab_size
        .checked_sub(1)
        .and_then(|t| t.checked_sub(skip))
        .filter(|&t| vocab_len <= t + 1)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "model_vocab_size {model_vocab_size} cannot hold {vocab_len} action ids below \
                 the last {skip} ids (skip): it needs at least {}",
                vocab_len.saturating_add(skip)
            ))
        })?;
    Ok((0..vocab_len).map(|i| (top - i) as i64).collect())
}

/// The masks of a table, written as rows of model ids.
#[derive(Clone, Debug)]
enum Layout {
    /// Action id `i` is model id `i`: the table's masks, then `false` up to the width.
    Identity,
    /// `masks[m · span + j]` is whether model id `lo + j` is allowed under mask `m`.
    Dense {
        lo: usize,
        span: usize,
        masks: Vec<bool>,
    },
    /// Mask `m` allows the model ids `ids[starts[m]..starts[m + 1]]`.
    Sparse { starts: Vec<usize>, ids: Vec<u32> },
}

/// A validated [`VocabMapping`] for one table: the width, the end id, model id → action id, and
/// the masks in model ids.
#[derive(Clone, Debug)]
pub(crate) struct ModelVocab {
    width: usize,
    end_id: Option<usize>,
    /// `inverse[m - lo]` is the action id of model id `m`, or `u32::MAX` for none.
    lo: usize,
    inverse: Vec<u32>,
    layout: Layout,
}

impl ModelVocab {
    pub(crate) fn new(table: &ConstraintTable, mapping: &VocabMapping) -> Result<Self> {
        let vocab_len = table.vocab_len();
        let (width, model_ids) = match &mapping.map {
            None => {
                let width = mapping.model_vocab_size.unwrap_or(vocab_len);
                if width < vocab_len {
                    return Err(Error::InvalidArgument(format!(
                        "model_vocab_size {width} is smaller than the tokenizer's {vocab_len} ids \
                         (pass vocab_map to place them in the model's vocabulary)"
                    )));
                }
                (width, None)
            }
            Some(map) => {
                let width = mapping.model_vocab_size.ok_or_else(|| {
                    Error::InvalidArgument(
                        "vocab_map needs model_vocab_size, the width of the model's logits".into(),
                    )
                })?;
                (width, Some(check_map(map, vocab_len, width)?))
            }
        };
        let end_id = match mapping.end_id {
            None => None,
            Some(e) => Some(check_end_id(e, width, model_ids.as_deref(), vocab_len)?),
        };
        let Some(model_ids) = model_ids else {
            return Ok(Self {
                width,
                end_id,
                lo: 0,
                inverse: (0..vocab_len as u32).collect(),
                layout: Layout::Identity,
            });
        };
        let lo = model_ids.iter().copied().min().unwrap_or(0);
        let span = model_ids.iter().copied().max().map_or(0, |hi| hi + 1 - lo);
        let mut inverse = vec![u32::MAX; span];
        for (action, &model) in model_ids.iter().enumerate() {
            inverse[model - lo] = action as u32;
        }
        let distinct = table.distinct_masks();
        let layout = if span <= DENSE_SPAN_FACTOR * vocab_len.max(1) {
            let mut masks = vec![false; distinct * span];
            for m in 0..distinct {
                let row = &mut masks[m * span..(m + 1) * span];
                for (&allowed, &model) in table.mask(m as u32).iter().zip(&model_ids) {
                    row[model - lo] = allowed;
                }
            }
            Layout::Dense { lo, span, masks }
        } else {
            let mut starts = vec![0];
            let mut ids = Vec::new();
            for m in 0..distinct {
                let mut allowed: Vec<u32> = table
                    .mask(m as u32)
                    .iter()
                    .zip(&model_ids)
                    .filter(|(&allowed, _)| allowed)
                    .map(|(_, &model)| model as u32)
                    .collect();
                // Increasing ids: the scatter then writes forward through the row.
                allowed.sort_unstable();
                ids.extend(allowed);
                starts.push(ids.len());
            }
            Layout::Sparse { starts, ids }
        };
        Ok(Self {
            width,
            end_id,
            lo,
            inverse,
            layout,
        })
    }

    /// The width of a mask row.
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    /// Whether the ids are the tokenizer's own, nothing added (no map, no end id, no extra
    /// width).
    pub(crate) fn is_plain(&self) -> bool {
        matches!(self.layout, Layout::Identity)
            && self.end_id.is_none()
            && self.width == self.inverse.len()
    }

    /// The end id, if any.
    pub(crate) fn end_id(&self) -> Option<usize> {
        self.end_id
    }

    /// The action id of model id `id`, if it is one.
    #[inline]
    pub(crate) fn action_id(&self, id: i128) -> Option<u32> {
        let at = usize::try_from(id).ok()?.checked_sub(self.lo)?;
        self.inverse.get(at).copied().filter(|&a| a != u32::MAX)
    }

    /// Writes mask `index` of `table` as a row of model ids (`row.len() == width`).
    #[inline]
    pub(crate) fn write_row(&self, table: &ConstraintTable, index: u32, row: &mut [bool]) {
        match &self.layout {
            Layout::Identity => {
                let (head, tail) = row.split_at_mut(table.vocab_len());
                head.copy_from_slice(table.mask(index));
                tail.fill(false);
            }
            Layout::Dense { lo, span, masks } => {
                let start = index as usize * span;
                row[..*lo].fill(false);
                row[*lo..lo + span].copy_from_slice(&masks[start..start + span]);
                row[lo + span..].fill(false);
            }
            Layout::Sparse { starts, ids } => {
                row.fill(false);
                let m = index as usize;
                for &id in &ids[starts[m]..starts[m + 1]] {
                    row[id as usize] = true;
                }
            }
        }
    }
}

/// The map's ids as `usize`, or the first problem: wrong length, an id outside the model's
/// vocabulary, two action ids on one model id.
fn check_map(map: &[i64], vocab_len: usize, width: usize) -> Result<Vec<usize>> {
    if map.len() != vocab_len {
        return Err(Error::InvalidArgument(format!(
            "vocab_map has {} entries, but the tokenizer has {vocab_len} ids: it needs one model \
             id per action id",
            map.len()
        )));
    }
    let mut ids = Vec::with_capacity(map.len());
    for (i, &m) in map.iter().enumerate() {
        match usize::try_from(m).ok().filter(|&m| m < width) {
            Some(m) => ids.push(m),
            None => {
                return Err(Error::InvalidArgument(format!(
                    "vocab_map[{i}] = {m} is not a model id: model ids are 0 to {}, inclusive \
                     (model_vocab_size={width})",
                    width.saturating_sub(1)
                )))
            }
        }
    }
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_unstable_by_key(|&i| (ids[i], i));
    if let Some(w) = order.windows(2).find(|w| ids[w[0]] == ids[w[1]]) {
        return Err(Error::InvalidArgument(format!(
            "vocab_map[{}] and vocab_map[{}] are both {}: each action id needs its own model id",
            w[0], w[1], ids[w[0]]
        )));
    }
    Ok(ids)
}

/// The end id as `usize`, or why it cannot be one.
fn check_end_id(
    end_id: i64,
    width: usize,
    map: Option<&[usize]>,
    vocab_len: usize,
) -> Result<usize> {
    let e = usize::try_from(end_id)
        .ok()
        .filter(|&e| e < width)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "end_id {end_id} is not a model id: model ids are 0 to {}, inclusive \
                 (model_vocab_size={width})",
                width.saturating_sub(1)
            ))
        })?;
    let action = match map {
        Some(map) => map.iter().position(|&m| m == e),
        None => (e < vocab_len).then_some(e),
    };
    match action {
        Some(i) => Err(Error::InvalidArgument(format!(
            "end_id {e} is the model id of action id {i}: the end of the actions needs an id of \
             its own, outside the vocab_map"
        ))),
        None => Ok(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openpi_map_is_the_reversed_block_below_the_skipped_ids() {
        assert_eq!(openpi_vocab_map(10, 3, 2).unwrap(), vec![7, 6, 5]);
        assert_eq!(openpi_vocab_map(5, 3, 2).unwrap(), vec![2, 1, 0]);
        let err = openpi_vocab_map(4, 3, 2).unwrap_err().to_string();
        assert!(err.contains("needs at least 5"), "{err}");
        assert!(openpi_vocab_map(0, 0, 0).is_err());
    }
}
