"""The measurements behind ``actok inspect``: compression, reconstruction error, range, speed."""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from ._actok import EncodeError
from ._tokenizer import FastTokenizer


def inspect(
    tokenizer: FastTokenizer,
    chunks: np.ndarray,
    *,
    fps: float | None,
    sweep: list[float],
    sweep_chunks: int,
) -> dict[str, Any]:
    """Measures ``tokenizer`` on raw ``(N, H, D)`` chunks; returns a JSON-ready report.

    Everything is computed in the tokenizer's normalized space with the bare tokenizer (the
    normalizer is applied once up front), so errors can be stated in both normalized and raw units
    and the values the normalizer clipped can be counted separately from coefficients the
    vocabulary cannot represent.
    """
    raw = np.asarray(chunks, dtype=np.float64)
    n, h, d = raw.shape
    if n == 0:
        raise EncodeError("the data yields no chunks at this horizon (try --pad repeat_last)")
    normalizer = tokenizer.normalizer
    bare = tokenizer.with_normalizer(None)
    normalized = raw if normalizer is None else normalizer.apply(raw)
    # What the normalizer's clipping changed, in raw units (nothing for meanstd/identity).
    restored = raw if normalizer is None else normalizer.inverse(normalized)
    clip_change = np.abs(restored - raw)
    clipped = int(np.count_nonzero(~np.isclose(restored, raw, rtol=1e-9, atol=1e-12)))

    overflow = _overflowing_chunks(bare, normalized)
    ids, lengths = bare.encode_batch(normalized, on_overflow="clip")
    decoded = bare.decode((ids, lengths), time_horizon=h, action_dim=d)
    err = decoded - normalized
    raw_err = err if normalizer is None else normalizer.inverse(decoded) - restored

    enc = _best_seconds(lambda: bare.encode_batch(normalized, on_overflow="clip"))
    dec = _best_seconds(lambda: bare.decode((ids, lengths), time_horizon=h, action_dim=d))
    report: dict[str, Any] = {
        "chunks": n,
        "horizon": h,
        "action_dim": d,
        "fps": fps,
        "scale": tokenizer.scale,
        "vocab_size": tokenizer.vocab_size,
        "normalizer": None if normalizer is None else normalizer.kind,
        "tokens": _length_stats(lengths),
        "naive_tokens": h * d,
        "compression": h * d / float(np.mean(lengths)) if np.mean(lengths) > 0 else None,
        "error_normalized": _error_stats(err),
        "error_raw": _error_stats(raw_err),
        "out_of_range": {
            "chunks_with_unrepresentable_coefficients": overflow,
            "values_clipped_by_normalizer": clipped,
            "max_abs_clipping_raw": float(np.max(clip_change)),
            "values": int(raw.size),
        },
        "speed_us_per_chunk": {"encode": enc / n * 1e6, "decode": dec / n * 1e6},
        "sweep": _sweep(tokenizer, normalized, sweep, sweep_chunks),
    }
    if fps:
        per_second = fps / h
        report["tokens_per_second"] = report["tokens"]["mean"] * per_second
        report["naive_tokens_per_second"] = d * fps
    return report


def _overflowing_chunks(bare: FastTokenizer, normalized: np.ndarray) -> int:
    """How many chunks hold a coefficient the vocabulary cannot represent."""
    try:
        bare.encode_batch(normalized)
        return 0
    except EncodeError:
        pass
    bad = 0
    for chunk in normalized:
        try:
            bare.encode(chunk)
        except EncodeError:
            bad += 1
    return bad


def _sweep(
    tokenizer: FastTokenizer, normalized: np.ndarray, scales: list[float], limit: int
) -> list[dict[str, Any]]:
    """Tokens vs error for tokenizers fitted at other scales on (a spread subsample of) the data."""
    if not scales:
        return []
    n = len(normalized)
    pick = np.unique(np.linspace(0, n - 1, num=min(n, max(limit, 1))).astype(np.int64))
    sample = np.ascontiguousarray(normalized[pick])
    h, d = sample.shape[1:]
    rows = []
    for scale in sorted(set(scales)):
        fitted = FastTokenizer.fit(sample, scale=scale, vocab_size=tokenizer.vocab_size)
        ids, lengths = fitted.encode_batch(sample, on_overflow="clip")
        decoded = fitted.decode((ids, lengths), time_horizon=h, action_dim=d)
        err = decoded - sample
        rows.append(
            {
                "scale": scale,
                "mean_tokens": float(np.mean(lengths)),
                "rmse": float(np.sqrt(np.mean(err**2))),
                "max_abs": float(np.max(np.abs(err))),
            }
        )
    return rows


def _length_stats(lengths: np.ndarray) -> dict[str, float]:
    return {
        "mean": float(np.mean(lengths)),
        "p50": float(np.percentile(lengths, 50)),
        "p99": float(np.percentile(lengths, 99)),
        "max": int(np.max(lengths)),
    }


def _error_stats(err: np.ndarray) -> dict[str, float]:
    return {"rmse": float(np.sqrt(np.mean(err**2))), "max_abs": float(np.max(np.abs(err)))}


def _best_seconds(fn: Callable[[], object], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def format_report(r: dict[str, Any]) -> str:
    """The report as the text ``actok inspect`` prints."""
    t, en, er, oor = r["tokens"], r["error_normalized"], r["error_raw"], r["out_of_range"]
    h, d = r["horizon"], r["action_dim"]
    lines = [
        f"tokenizer {r['tokenizer']}: scale {r['scale']:g}, vocab {r['vocab_size']}, "
        f"normalizer {r['normalizer'] or 'none'}",
        f"data {r['data']}: {r['chunks']} chunks of {h}x{d}"
        + (f" ({h / r['fps']:g} s at {r['fps']:g} Hz)" if r["fps"] else ""),
        "",
        f"tokens per chunk   mean {t['mean']:.1f}  p50 {t['p50']:.0f}  p99 {t['p99']:.0f}  "
        f"max {t['max']}",
        f"naive binning      {r['naive_tokens']} tokens per chunk (H x D); FAST compresses "
        f"{r['compression']:.1f}x"
        if r["compression"]
        else "",
    ]
    if "tokens_per_second" in r:
        lines.append(
            f"per second         {r['tokens_per_second']:.1f} tokens vs "
            f"{r['naive_tokens_per_second']:g} naive"
        )
    lines += [
        f"error (normalized) RMSE {en['rmse']:.5f}  max|err| {en['max_abs']:.5f}",
        f"error (raw units)  RMSE {er['rmse']:.5g}  max|err| {er['max_abs']:.5g}"
        "  (tokenization only)",
        f"out of range       {oor['chunks_with_unrepresentable_coefficients']} chunks with "
        "coefficients outside the vocabulary (clipped for the figures above)",
        f"normalizer clip    {oor['values_clipped_by_normalizer']} of {oor['values']} values "
        f"clipped, by at most {oor['max_abs_clipping_raw']:.5g} raw units",
        f"speed              encode {r['speed_us_per_chunk']['encode']:.1f} us/chunk, decode "
        f"{r['speed_us_per_chunk']['decode']:.1f} us/chunk (whole batch per call)",
    ]
    if r["sweep"]:
        lines += ["", "scale sweep (tokenizers fitted on a subsample, normalized units):"]
        lines.append(f"  {'scale':>8} {'tokens':>8} {'RMSE':>9} {'max|err|':>9}")
        for row in r["sweep"]:
            mark = "  <- this tokenizer's scale" if row["scale"] == r["scale"] else ""
            lines.append(
                f"  {row['scale']:>8g} {row['mean_tokens']:>8.1f} {row['rmse']:>9.5f} "
                f"{row['max_abs']:>9.5f}{mark}"
            )
    return "\n".join(line for line in lines if line is not None)
