//! The validation split of a fit's chunks: which chunks candidate placements and scales are
//! fitted on, and which their tokens and RMSE are measured on.

use std::ops::Range;

use crate::fast::fit::Kept;

/// Fewest validation chunks on which placements are compared; below it (corpora of fewer than
/// 40 chunks) `auto` keeps the reference placement.
pub(crate) const MIN_VALIDATION_CHUNKS: usize = 8;

/// Most validation chunks: the mean tokens per chunk of 50,000 chunks is known to a fraction of a
/// percent, and more would only lengthen every trial.
pub(crate) const MAX_VALIDATION_CHUNKS: usize = 50_000;

/// Most chunks a trial is fitted on: the ones just before the validation chunks. A trial then
/// costs at most a fit of 200,000 chunks, whatever the corpus (the final fit uses every chunk).
pub(crate) const MAX_TRAINING_CHUNKS: usize = 200_000;

/// The chunks candidates are fitted on and those their tokens (and RMSE) are measured on: the
/// first 80% and the last 20%, in the order given (chunks cut from episodes in order, so the
/// validation chunks are mostly whole later episodes, not neighbours of training chunks), each
/// capped ([`MAX_TRAINING_CHUNKS`] just before the validation chunks, the last
/// [`MAX_VALIDATION_CHUNKS`]). With fewer than [`MIN_VALIDATION_CHUNKS`] validation chunks there
/// is no held-out part: both are every chunk, and `auto` placements keep the reference one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Split {
    pub(crate) training: Range<usize>,
    pub(crate) validation: Range<usize>,
    pub(crate) held_out: bool,
}

impl Split {
    /// Every chunk a trial reads: its training and validation chunks (not the chunks between
    /// them, which only the final fit reads).
    pub(crate) fn trial_chunks(&self) -> Kept {
        Kept::of(&[self.training.clone(), self.validation.clone()])
    }

    /// The split of `n` chunks.
    pub(crate) fn of(n: usize) -> Self {
        let validation = n / 5;
        if validation < MIN_VALIDATION_CHUNKS {
            return Self {
                training: 0..n,
                validation: 0..n,
                held_out: false,
            };
        }
        let start = n - validation.min(MAX_VALIDATION_CHUNKS);
        let end = n - validation;
        Self {
            training: end.saturating_sub(MAX_TRAINING_CHUNKS)..end,
            validation: start..n,
            held_out: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighty_twenty_in_order_capped() {
        assert_eq!(
            Split::of(100),
            Split {
                training: 0..80,
                validation: 80..100,
                held_out: true
            }
        );
        assert!(!Split::of(39).held_out && Split::of(39).validation == (0..39));
        assert!(Split::of(40).held_out);
        let big = Split::of(2_000_000);
        assert_eq!(big.validation, 1_950_000..2_000_000);
        assert_eq!(big.training, 1_400_000..1_600_000);
    }

    #[test]
    fn trials_keep_their_training_and_validation_chunks_only() {
        // 1M chunks: 600k..800k and 950k..1M, not the 150k between them.
        let kept = Split::of(1_000_000).trial_chunks();
        assert_eq!(kept.len(), 250_000);
        assert_eq!(kept.position(599_999), None);
        assert_eq!(kept.position(600_000), Some(0));
        assert_eq!(kept.position(799_999), Some(199_999));
        assert_eq!(kept.position(800_000), None);
        assert_eq!(kept.position(949_999), None);
        assert_eq!(kept.position(950_000), Some(200_000));
        assert_eq!(kept.position(999_999), Some(249_999));
        // Adjacent (100 chunks) and equal (no held-out part) ranges are kept once.
        let kept = Split::of(100).trial_chunks();
        assert_eq!((kept.len(), kept.position(99)), (100, Some(99)));
        let kept = Split::of(20).trial_chunks();
        assert_eq!((kept.len(), kept.position(19)), (20, Some(19)));
    }
}
