//! Choosing the scale for a target RMSE (`docs/semantics.md#target-rmse`).
//!
//! Users know the error they can accept, not the scale that gives it. The RMSE of
//! `decode(encode(y))` against `y` (normalized units) depends only on the scale: the lossless
//! alphabet represents every coefficient of the fitted range, and the ortho DCT preserves sums of
//! squares, so per value it is the RMS of `round(c * scale) / scale - c` over the DCT
//! coefficients `c` of the validation chunks. That is computed for every scale of [`GRID`] in one
//! pass; the smallest [`FITTED`] scales within the target are then fitted (each with its best
//! placement) and the one with the fewest tokens per validation chunk is kept. Token counts
//! mostly grow with the scale, but not always (the placement of zero changes with it), hence more
//! than one.

use crate::dct::{DctScratch, DctSpec, Transform};
use crate::error::{Error, Result};
use crate::fast::fit::{
    effective_placement, quantize, quiet, Corpus, FitData, FitOptions, FitStage, Report,
};
use crate::fast::fit_report::{PlacementReport, ScaleReport, ScaleTrial};
use crate::fast::pipeline::{ChunkBuffers, ChunkPipeline};
use crate::fast::placement::{self, Placement};
use crate::fast::placement::{choose_trial, mean};
use crate::fast::split::Split;
use crate::parallel;
use crate::sample::Sample;

/// The scales tried: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 per decade, from 0.1 to 1000.
pub(crate) const GRID: [f64; 41] = [
    0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, //
    1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, //
    10.0, 12.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 80.0, //
    100.0, 120.0, 150.0, 200.0, 250.0, 300.0, 400.0, 500.0, 600.0, 800.0, //
    1000.0,
];

/// How many of the smallest scales within the target are fitted and compared.
pub(crate) const FITTED: usize = 3;

/// The scale (and its placement) with the fewest tokens per validation chunk among the smallest
/// [`FITTED`] scales of [`GRID`] whose validation RMSE is at most `target`, and the sweep.
pub(crate) fn choose<T: Sample>(
    data: &FitData<'_, T>,
    target: f64,
    options: &FitOptions,
    split: &Split,
    report: Report<'_>,
) -> Result<(ScaleReport, PlacementReport)> {
    let rmse = validation_rmse(data, split)?;
    let mut sweep: Vec<ScaleTrial> = GRID
        .iter()
        .zip(&rmse)
        .map(|(&scale, &rmse)| ScaleTrial {
            scale,
            rmse,
            tokens_per_chunk: None,
            min_token: None,
            note: None,
        })
        .collect();
    let feasible: Vec<usize> = (0..GRID.len()).filter(|&i| rmse[i] <= target).collect();
    if feasible.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "no scale up to {} reaches target_rmse {target}: the smallest validation RMSE is {:.3e} \
             (normalized units); raise target_rmse",
            GRID[GRID.len() - 1],
            rmse.iter().copied().fold(f64::INFINITY, f64::min)
        )));
    }
    let tried: Vec<usize> = feasible.iter().copied().take(FITTED).collect();
    let mut best: Option<(usize, f64, PlacementReport)> = None;
    for (k, &i) in tried.iter().enumerate() {
        report(FitStage::Scale, k, tried.len());
        match fit_scale(data, GRID[i], options, split) {
            Ok((tokens, placed)) => {
                sweep[i].tokens_per_chunk = Some(tokens);
                sweep[i].min_token = Some(placed.min_token);
                if best.as_ref().map_or(true, |(_, t, _)| tokens < *t) {
                    best = Some((i, tokens, placed));
                }
            }
            Err(e) => sweep[i].note = Some(format!("not fitted: {e}")),
        }
    }
    report(FitStage::Scale, tried.len(), tried.len());
    for &i in &feasible[tried.len()..] {
        sweep[i].note = Some(format!(
            "not fitted: within the target, but larger than the {FITTED} smallest scales that are"
        ));
    }
    let Some((chosen, tokens, placed)) = best else {
        let notes: Vec<String> = tried
            .iter()
            .filter_map(|&i| {
                sweep[i]
                    .note
                    .clone()
                    .map(|n| format!("scale {}: {n}", GRID[i]))
            })
            .collect();
        return Err(Error::InvalidArgument(format!(
            "no scale within target_rmse {target} could be fitted ({})",
            notes.join("; ")
        )));
    };
    Ok((
        ScaleReport {
            target_rmse: target,
            scale: GRID[chosen],
            rmse: rmse[chosen],
            tokens_per_chunk: tokens,
            validation_chunks: split.validation.len(),
            sweep,
        },
        placed,
    ))
}

/// Fits at `scale` with the placement `options` asks for: tokens per validation chunk of the
/// placement kept, and the placement's report.
fn fit_scale<T: Sample>(
    data: &FitData<'_, T>,
    scale: f64,
    options: &FitOptions,
    split: &Split,
) -> Result<(f64, PlacementReport)> {
    let corpus = Corpus::new(data, scale, split.trial_chunks(), &quiet)?;
    let covered = corpus.covered(options)?;
    let placement = effective_placement(options)?;
    if placement == Placement::Auto && split.held_out {
        let candidates = placement::candidates(covered.0, covered.1);
        let trials = corpus.trials(&candidates, covered, options, split, &quiet)?;
        let placed = choose_trial(trials, split);
        let tokens = placed
            .candidates
            .iter()
            .find(|t| t.min_token == placed.min_token)
            .map(|t| t.tokens_per_chunk)
            .expect("the kept placement is a trial");
        return Ok((tokens, placed));
    }
    let placed = corpus.place(covered, options, split, &quiet)?;
    let tokenizer = corpus.fit(
        split.training.clone(),
        placed.min_token,
        covered,
        options,
        &quiet,
    )?;
    let counts = corpus.token_counts(split.validation.clone(), &tokenizer)?;
    Ok((mean(&counts), placed))
}

/// The validation RMSE at each scale of [`GRID`]: per value, the RMS over the validation chunks of
/// `round(c * scale) / scale - c` for their DCT coefficients `c` (normalized, ortho DCT-II along
/// time), which equals the RMSE of `decode(encode(y))` against `y` since the transform is
/// orthonormal.
fn validation_rmse<T: Sample>(data: &FitData<'_, T>, split: &Split) -> Result<Vec<f64>> {
    let [_, h, d] = data.shape;
    let transform = Transform::new(DctSpec::FAST_FORWARD, h)?;
    // Quantizing checks the values exactly as the fit does (non-finite values, the normalizer's
    // refusals), so errors read the same; its scale is irrelevant here.
    let check = ChunkPipeline::new(h, d, 1.0, data.normalizer)?;
    let chunks = split.validation.clone();
    let sums = parallel::map_init(
        chunks.len(),
        parallel::min_parallel_items(h * d * GRID.len()),
        || {
            (
                ChunkBuffers::default(),
                DctScratch::default(),
                Vec::new(),
                Vec::new(),
            )
        },
        |(buf, scratch, normalized, coefficients), i| {
            let b = chunks.start + i;
            let chunk = data.chunk(b);
            quantize(chunk, b, d, &check, buf)?;
            normalized.clear();
            for (at, v) in chunk.iter().enumerate() {
                let x = v.to_f64();
                normalized.push(match data.normalizer {
                    Some(n) => n.apply_value(at % d, x).map(|(y, _)| y).unwrap_or(x),
                    None => x,
                });
            }
            coefficients.resize(h * d, 0.0);
            transform.apply_block(&normalized[..], coefficients, d, scratch);
            let mut sums = [0.0f64; GRID.len()];
            for &c in coefficients.iter() {
                for (sum, &scale) in sums.iter_mut().zip(&GRID) {
                    let e = (c * scale).round_ties_even() / scale - c;
                    *sum += e * e;
                }
            }
            Ok(sums)
        },
    )?;
    let mut total = [0.0f64; GRID.len()];
    for s in sums {
        for (t, v) in total.iter_mut().zip(s?) {
            *t += v;
        }
    }
    let values = (chunks.len() * h * d).max(1) as f64;
    Ok(total.iter().map(|t| (t / values).sqrt()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_ascends() {
        assert!(GRID.windows(2).all(|w| w[0] < w[1]));
    }
}
