//! What a fit chose and why: the placement it kept (and the ones it tried) and, with a target
//! RMSE, the scale sweep it ran. Recorded in `processor_config.json` under the key
//! [`FIT_REPORT_KEY`], an extra key the reference processor keeps but never reads
//! (`docs/formats.md#actok_fit`).

use serde::{Deserialize, Serialize};

/// The key of `processor_config.json` holding a [`FitReport`].
pub const FIT_REPORT_KEY: &str = "actok_fit";

/// What [`crate::FastTokenizer::fit`] chose, recorded with the tokenizer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// How `min_token` was chosen.
    pub placement: PlacementReport,
    /// How the scale was chosen, when a target RMSE was given (else the scale was the caller's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<ScaleReport>,
}

/// How `min_token` was chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlacementReport {
    /// What was asked: `"auto"`, `"reference"` or `"min_token"` (a fixed value).
    pub requested: String,
    /// The `min_token` written.
    pub min_token: i64,
    /// Where the fitted range lands (`"reference"`, `"letters from U+00F8"`, ...).
    pub label: String,
    /// Why this one, in a sentence.
    pub reason: String,
    /// Chunks the candidates were fitted on (the first 80%; 0 when nothing was compared).
    pub training_chunks: usize,
    /// Chunks their tokens were counted on (the last 20%; 0 when nothing was compared).
    pub validation_chunks: usize,
    /// Every placement tried, in the order tried (the reference first); empty unless `"auto"`.
    pub candidates: Vec<PlacementTrial>,
}

/// One placement tried by `"auto"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlacementTrial {
    /// Its `min_token`.
    pub min_token: i64,
    /// Where it puts the range.
    pub label: String,
    /// Mean tokens per validation chunk.
    pub tokens_per_chunk: f64,
}

/// How the scale was chosen for a target RMSE.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScaleReport {
    /// The target: the largest accepted RMSE of `decode(encode(y))` against `y`, in normalized
    /// units, on the validation chunks.
    pub target_rmse: f64,
    /// The scale chosen.
    pub scale: f64,
    /// Its validation RMSE.
    pub rmse: f64,
    /// Its mean tokens per validation chunk (with its best placement).
    pub tokens_per_chunk: f64,
    /// Chunks the RMSE was measured on.
    pub validation_chunks: usize,
    /// Every scale of the grid: its RMSE, and its tokens where a tokenizer was fitted.
    pub sweep: Vec<ScaleTrial>,
}

/// One scale of the sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScaleTrial {
    /// The scale.
    pub scale: f64,
    /// Validation RMSE (normalized units) at this scale.
    pub rmse: f64,
    /// Mean tokens per validation chunk with the best placement, where fitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_chunk: Option<f64>,
    /// That placement's `min_token`, where fitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_token: Option<i64>,
    /// Why it was not fitted or not kept, if it was not chosen and meets the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
