//! The FAST tokenizer itself: the per-chunk pipeline from actions to token ids and back, fitting,
//! and the data preparation around it (normalizers, chunking of episodes).

pub(crate) mod chunking;
pub(crate) mod code;
pub(crate) mod coefficient_range;
pub(crate) mod episodes;
pub(crate) mod fit;
pub(crate) mod fit_report;
pub(crate) mod normalizer;
pub(crate) mod pipeline;
pub(crate) mod placement;
pub(crate) mod quantize;
pub(crate) mod scale_search;
pub(crate) mod split;
pub(crate) mod token_values;
pub(crate) mod tokenizer;
