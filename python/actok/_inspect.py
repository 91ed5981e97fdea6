"""The measurements behind ``actok inspect``: round-trip error, compression, range, speed, sweep.

The headline is what a user gets back: ``tokenizer.decode(tokenizer.encode(x))`` against ``x`` in
raw units, normalizer included, per dimension. The tokenization-only error (in the normalizer's
space, quantization alone) comes after it, labelled as such.

The data is measured in batches of about ``BATCH_VALUES`` values and only running statistics are
kept, so peak memory is the caller's chunks plus a few batch-sized arrays, whatever N is.
"""

from __future__ import annotations

import contextlib
import textwrap
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ._actok import ActokError, EncodeError, _pretokenize
from ._clipping import ClippingWarning
from ._normalizer import Normalizer
from ._tokenizer import FastTokenizer

#: Values per measured batch: 2**21 float64 values are 16 MB per batch-sized array.
BATCH_VALUES = 1 << 21

#: One character of each class of the GPT-2 split, to ask the core which class a character is in.
_CLASS_ANCHORS = {"letter": "a", "number": "0", "other": "!", "whitespace": "\t"}


def inspect(
    tokenizer: FastTokenizer,
    chunks: np.ndarray,
    *,
    fps: float | None,
    sweep: list[float],
    sweep_chunks: int,
    dim_names: list[str] | None = None,
    lengths_out: list[np.ndarray] | None = None,
) -> dict[str, Any]:
    """Measures ``tokenizer`` on raw ``(N, H, D)`` chunks; returns a JSON-ready report.

    ``lengths_out``, if given, receives the tokens-per-chunk array (for the plot).

    The report counts what the normalizer clips itself, so the :class:`ClippingWarning` of each
    batch's calls would only repeat it: they are silenced here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClippingWarning)
        return _measure(
            tokenizer,
            chunks,
            fps=fps,
            sweep=sweep,
            sweep_chunks=sweep_chunks,
            dim_names=dim_names,
            lengths_out=lengths_out,
        )


def _measure(
    tokenizer: FastTokenizer,
    chunks: np.ndarray,
    *,
    fps: float | None,
    sweep: list[float],
    sweep_chunks: int,
    dim_names: list[str] | None,
    lengths_out: list[np.ndarray] | None = None,
) -> dict[str, Any]:
    chunks = np.asarray(chunks)
    if chunks.ndim != 3:
        raise ActokError(f"inspect needs (N, H, D) chunks, got shape {chunks.shape}")
    n, h, d = chunks.shape
    if n == 0:
        raise EncodeError("the data yields no chunks at this horizon (try --pad repeat_last)")
    totals = _Totals.empty(d)
    step = _batch_size(h, d)
    for start in range(0, n, step):
        with _batch_context(start, h):
            totals.add(tokenizer, chunks[start : start + step])
    lengths = np.concatenate(totals.lengths)
    if lengths_out is not None:
        lengths_out.append(lengths)
    values = n * h * d
    enc, dec = _speed(tokenizer, chunks[:step])
    mean_tokens = float(np.mean(lengths))
    normalizer = tokenizer.normalizer
    report: dict[str, Any] = {
        "chunks": n,
        "horizon": h,
        "action_dim": d,
        "fps": fps,
        "scale": tokenizer.scale,
        "vocab_size": tokenizer.vocab_size,
        "normalizer": None if normalizer is None else normalizer.kind,
        "round_trip_raw": {
            "rmse": float(np.sqrt(totals.sq.sum() / values)),
            "max_abs": float(totals.peak.max()),
        },
        "per_dimension": _per_dimension(totals, n * h, dim_names),
        "error_normalized": {
            "rmse": float(np.sqrt(totals.tok_sq / values)),
            "max_abs": totals.tok_peak,
        },
        "tokens": _length_stats(lengths),
        "naive_tokens": h * d,
        "compression": h * d / mean_tokens if mean_tokens > 0 else None,
        "out_of_range": {
            "chunks_with_unrepresentable_coefficients": totals.overflow,
            "normalizer_policy": None if normalizer is None else normalizer.out_of_range,
            "values_outside_fitted_range": int(totals.clipped.sum()),
            "values_clipped_by_normalizer": int(totals.clipped.sum())
            if normalizer is not None and normalizer.out_of_range == "clip"
            else 0,
            "values": values,
        },
        "speed_us_per_chunk": {"encode": enc * 1e6, "decode": dec * 1e6},
        "sweep": _sweep(tokenizer, chunks, sweep, sweep_chunks),
        "min_token": tokenizer.min_token,
        "zero_codepoint": -tokenizer.min_token,
        "zero_class": zero_class(tokenizer.min_token),
        "fit": tokenizer.fit_report,
    }
    report["sweep_non_monotone"] = _non_monotone(report["sweep"])
    if fps:
        per_second = fps / h
        report["tokens_per_second"] = mean_tokens * per_second
        report["naive_tokens_per_second"] = d * fps
    return report


@dataclass
class _Totals:
    """Running statistics over the batches (per dimension where the report has a table)."""

    low: np.ndarray  # (D,) raw minimum
    high: np.ndarray  # (D,) raw maximum
    sq: np.ndarray  # (D,) sum of squared raw round-trip errors
    peak: np.ndarray  # (D,) largest |raw round-trip error|
    clipped: np.ndarray  # (D,) values the normalizer clipped
    tok_sq: float = 0.0  # tokenization only, normalized units
    tok_peak: float = 0.0
    overflow: int = 0
    lengths: list[np.ndarray] = field(default_factory=list)

    @classmethod
    def empty(cls, d: int) -> _Totals:
        return cls(
            low=np.full(d, np.inf),
            high=np.full(d, -np.inf),
            sq=np.zeros(d),
            peak=np.zeros(d),
            clipped=np.zeros(d, dtype=np.int64),
        )

    def add(self, tokenizer: FastTokenizer, batch: np.ndarray) -> None:
        """Measures one batch of raw chunks and folds it into the totals."""
        _, h, d = batch.shape
        normalizer = tokenizer.normalizer
        raw = np.asarray(batch, dtype=np.float64)
        self.low = np.minimum(self.low, raw.min(axis=(0, 1)))
        self.high = np.maximum(self.high, raw.max(axis=(0, 1)))
        # The user's path, exactly: raw chunks in (their dtype), raw actions out.
        ids, lengths = tokenizer.encode_batch(batch, on_overflow="clip")
        self.lengths.append(lengths)
        err = tokenizer.decode((ids, lengths), time_horizon=h, action_dim=d)
        err -= raw
        np.square(err, out=err)
        self.sq += err.sum(axis=(0, 1))
        self.peak = np.maximum(self.peak, np.sqrt(err.max(axis=(0, 1))))
        del err
        if normalizer is None:
            normalized, bare = raw, tokenizer
        else:
            normalized, bare = normalizer.apply(raw), tokenizer.with_normalizer(None)
            self.clipped += _clipped_counts(normalizer, raw)
        del raw
        # The same ids decoded without the normalizer: the quantization error alone.
        tok_err = bare.decode((ids, lengths), time_horizon=h, action_dim=d)
        tok_err -= normalized
        np.abs(tok_err, out=tok_err)
        self.tok_sq += float(np.sum(tok_err**2))
        self.tok_peak = max(self.tok_peak, float(tok_err.max()))
        del tok_err
        self.overflow += _overflowing_chunks(bare, normalized)


def _clipped_counts(normalizer: Normalizer, raw: np.ndarray) -> np.ndarray:
    """How many values of ``raw`` (N, H, D) lie outside the normalizer's fitted range, per
    dimension ((D,) int64): clipped under ``out_of_range="clip"``, kept beyond ±1 under
    ``"keep"`` (the core's count; the one place inspect learns about it)."""
    return normalizer.count_outside(raw)


def _batch_size(h: int, d: int) -> int:
    return max(1, BATCH_VALUES // (h * d))


@contextlib.contextmanager
def _batch_context(start: int, h: int) -> Iterator[None]:
    """Errors from a later batch number its chunks (and rows) from the batch's start: say so."""
    try:
        yield
    except ActokError as err:
        if start == 0:
            raise
        note = (
            f" (inspect reads the data in batches: add {start} to the chunk number, "
            f"{start * h} to the row number)"
        )
        raise type(err)(f"{err}{note}") from None


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


def _per_dimension(totals: _Totals, count: int, names: list[str] | None) -> list[dict[str, Any]]:
    """One table row per action dimension, raw units; ``count`` values per dimension."""
    rows = []
    for i in range(len(totals.sq)):
        row: dict[str, Any] = {"dim": i}
        if names is not None and len(names) == len(totals.sq):
            row["name"] = str(names[i])
        row.update(
            min=float(totals.low[i]),
            max=float(totals.high[i]),
            rmse=float(np.sqrt(totals.sq[i] / count)),
            max_abs=float(totals.peak[i]),
            clipped=int(totals.clipped[i]),
        )
        rows.append(row)
    return rows


def _speed(tokenizer: FastTokenizer, batch: np.ndarray) -> tuple[float, float]:
    """Seconds per chunk to encode and decode ``batch`` (the first batch), best of 3."""
    _, h, d = batch.shape
    ids, lengths = tokenizer.encode_batch(batch, on_overflow="clip")
    enc = _best_seconds(lambda: tokenizer.encode_batch(batch, on_overflow="clip"))
    dec = _best_seconds(lambda: tokenizer.decode((ids, lengths), time_horizon=h, action_dim=d))
    return enc / len(batch), dec / len(batch)


def _sweep(
    tokenizer: FastTokenizer, chunks: np.ndarray, scales: list[float], limit: int
) -> list[dict[str, Any]]:
    """Tokens vs error for tokenizers fitted at other scales on (a spread subsample of) the data.

    Each row records ``min_token`` and the class of zero's character ``chr(0 - min_token)``, the
    most frequent character: the cause of most non-monotone token counts (see ``_non_monotone``).
    """
    if not scales:
        return []
    n = len(chunks)
    pick = np.unique(np.linspace(0, n - 1, num=min(n, max(limit, 1))).astype(np.int64))
    sample = np.asarray(chunks[pick], dtype=np.float64)
    normalizer = tokenizer.normalizer
    if normalizer is not None:
        sample = np.ascontiguousarray(normalizer.apply(sample))
    h, d = sample.shape[1:]
    placement = sweep_placement(tokenizer)
    rows = []
    for scale in sorted(set(scales)):
        fitted = FastTokenizer.fit(
            sample, scale=scale, vocab_size=tokenizer.vocab_size, placement=placement
        )
        ids, lengths = fitted.encode_batch(sample, on_overflow="clip")
        decoded = fitted.decode((ids, lengths), time_horizon=h, action_dim=d)
        err = decoded - sample
        zero = -fitted.min_token  # the code point of a zero coefficient
        rows.append(
            {
                "scale": scale,
                "mean_tokens": float(np.mean(lengths)),
                "rmse": float(np.sqrt(np.mean(err**2))),
                "max_abs": float(np.max(np.abs(err))),
                "min_token": fitted.min_token,
                "zero_codepoint": zero,
                "zero_class": _char_class(chr(zero)),
                "placement": placement,
            }
        )
    return rows


def sweep_placement(tokenizer: FastTokenizer) -> str:
    """The placement the sweep's tokenizers are fitted with: ``"auto"`` for a tokenizer whose fit
    chose its placement (or fixed one: another scale needs another ``min_token``), else the
    reference recipe's (a tokenizer without actok's record)."""
    fit = tokenizer.fit_report
    if fit and fit["placement"]["requested"] != "reference":
        return "auto"
    return "reference"


def zero_class(min_token: int) -> str | None:
    """The class of zero's character ``chr(-min_token)``, or None if there is no such character."""
    zero = -min_token
    if not 0 <= zero <= 0x10FFFF or 0xD800 <= zero <= 0xDFFF:
        return None
    return _char_class(chr(zero))


def _char_class(c: str) -> str:
    """The GPT-2 split's class of ``c`` (letter, number, other or whitespace), asked of the core.

    ``anchor + c`` is a single piece exactly when ``c`` is in the anchor's class (each alternative
    of the split matches one class), so the answer is the split actual tokenization uses.
    """
    for name, anchor in _CLASS_ANCHORS.items():
        if _pretokenize(anchor + c) == [anchor + c]:
            return name
    return "unknown"


def _non_monotone(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each step of the sweep where a larger scale gave fewer tokens, and whether zero's
    character changed class there (the explanation is offered only when it did)."""
    found = []
    for lo, hi in zip(rows, rows[1:]):
        if hi["mean_tokens"] < lo["mean_tokens"]:
            found.append(
                {
                    "from_scale": lo["scale"],
                    "to_scale": hi["scale"],
                    "from_tokens": lo["mean_tokens"],
                    "to_tokens": hi["mean_tokens"],
                    "zero_class_changed": lo["zero_class"] != hi["zero_class"],
                }
            )
    return found


def _length_stats(lengths: np.ndarray) -> dict[str, float]:
    return {
        "mean": float(np.mean(lengths)),
        "p50": float(np.percentile(lengths, 50)),
        "p99": float(np.percentile(lengths, 99)),
        "max": int(np.max(lengths)),
    }


def _best_seconds(fn: Callable[[], object], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def format_report(r: dict[str, Any]) -> str:
    """The report as the text ``actok inspect`` prints: the raw round trip first."""
    lines = _headline(r)
    lines += ["", *_per_dimension_table(r), "", *_tokenization_lines(r)]
    lines += ["", *fit_lines(r["fit"], r["min_token"], r["zero_class"])]
    if r["sweep"]:
        lines += ["", *_sweep_lines(r)]
    return "\n".join(lines)


def _headline(r: dict[str, Any]) -> list[str]:
    rt, oor, kind = r["round_trip_raw"], r["out_of_range"], r["normalizer"]
    h, d = r["horizon"], r["action_dim"]
    clipped, values = oor["values_clipped_by_normalizer"], oor["values"]
    outside, policy = oor["values_outside_fitted_range"], oor["normalizer_policy"]
    lines = [
        f"round trip (raw units)  RMSE {rt['rmse']:.5g}  max|err| {rt['max_abs']:.5g}",
        "  = tokenizer.decode(tokenizer.encode(x)) vs x, "
        + (f"the {kind} normalizer included" if kind else "no normalizer"),
    ]
    if clipped:
        lines.append(
            f"  {clipped} of {values} values ({100 * clipped / values:.2f}%) were clipped by the "
            'normalizer (out_of_range="clip"): lost, and counted in the error above'
        )
    elif outside:
        lines.append(
            f"  {outside} of {values} values ({100 * outside / values:.2f}%) lie outside the "
            f'normalizer\'s fitted range and were kept (out_of_range="{policy}"): none clipped'
        )
    elif kind:
        lines.append("  no value was outside the normalizer's fitted range")
    source = r["data"] + (" (no DATA given: the bundled sample)" if r.get("data_is_sample") else "")
    lines += [
        "",
        f"tokenizer {r['tokenizer']}: scale {r['scale']:g}, vocab {r['vocab_size']}, "
        f"normalizer {kind or 'none'}" + (f" (out_of_range={policy})" if kind else ""),
        f"data {source}: {r['chunks']} chunks of {h}x{d}"
        + (f" ({h / r['fps']:g} s at {r['fps']:g} Hz)" if r["fps"] else ""),
    ]
    return lines


def _per_dimension_table(r: dict[str, Any]) -> list[str]:
    rows = r["per_dimension"]
    named = all("name" in row for row in rows)
    oor = r["out_of_range"]
    column = "clipped" if oor["values_clipped_by_normalizer"] else "outside"
    clipped = oor["values_outside_fitted_range"] > 0
    width = max([4, *(len(row["name"]) for row in rows)]) if named else 0
    head = f"  {'dim':>3}" + (f"  {'name':<{width}}" if named else "")
    head += f" {'min':>10} {'max':>10} {'RMSE':>10} {'max|err|':>10}"
    lines = [
        "per dimension (raw units; min/max: the data's range):",
        head + (f"  {column:>7}" if clipped else ""),
    ]
    for row in rows:
        line = f"  {row['dim']:>3}" + (f"  {row['name']:<{width}}" if named else "")
        for key in ("min", "max", "rmse", "max_abs"):
            line += f" {row[key]:>10.4g}"
        lines.append(line + (f"  {row['clipped']:>7}" if clipped else ""))
    return lines


def _tokenization_lines(r: dict[str, Any]) -> list[str]:
    t, en, oor = r["tokens"], r["error_normalized"], r["out_of_range"]
    if r["normalizer"]:
        units, where = "normalized units", "y = normalizer.apply(x)"
    else:
        units, where = "raw units: no normalizer", "y = x"
    lines = [
        f"tokenization only  RMSE {en['rmse']:.5f}  max|err| {en['max_abs']:.5f}  ({units})",
        f"  = decode(encode(y)) vs y for {where}: the quantization alone, clipping not counted",
        f"tokens per chunk   mean {t['mean']:.1f}  p50 {t['p50']:.0f}  p99 {t['p99']:.0f}  "
        f"max {t['max']}",
    ]
    if r["compression"]:
        lines.append(
            f"naive binning      {r['naive_tokens']} tokens per chunk (H x D); FAST compresses "
            f"{r['compression']:.1f}x"
        )
    if "tokens_per_second" in r:
        lines.append(
            f"per second         {r['tokens_per_second']:.1f} tokens vs "
            f"{r['naive_tokens_per_second']:g} naive"
        )
    lines += [
        f"out of range       {oor['chunks_with_unrepresentable_coefficients']} chunks with "
        "coefficients outside the vocabulary (clipped for the figures above)",
        f"speed              encode {r['speed_us_per_chunk']['encode']:.1f} us/chunk, decode "
        f"{r['speed_us_per_chunk']['decode']:.1f} us/chunk (raw actions; best of 3 on one batch)",
    ]
    return lines


def fit_lines(fit: dict[str, Any] | None, min_token: int, zero_class: str | None) -> list[str]:
    """Where the coefficients sit (``min_token``) and, from the fit's record (``actok_fit``), why:
    the placement and the candidates it was compared with, and a target RMSE's scale sweep.
    ``actok fit`` prints these lines too."""
    zero = -min_token
    where = (
        f"zero coefficient = U+{zero:04X} ({zero_class})"
        if zero_class
        else "zero coefficient has no character"
    )
    if not fit:
        return [
            f"placement          min_token {min_token}: {where}",
            "  (no record of how it was chosen: not written by actok's lossless fit)",
        ]
    p = fit["placement"]
    lines = [f"placement          min_token {min_token}: {where}; {p['label']}"]
    if p["requested"] == "auto":
        lines.append(
            f'  chosen by placement="auto", fitted on {p["training_chunks"]} chunks and counted '
            f"on the next {p['validation_chunks']}: {p['reason']}"
            if p["candidates"]
            else f'  placement="auto": {p["reason"]}'
        )
    else:
        lines.append(f'  placement="{p["requested"]}": {p["reason"]}')
    if p["candidates"]:
        lines.append("  tokens per validation chunk by placement (fewest first):")
        ranked = sorted(p["candidates"], key=lambda c: c["tokens_per_chunk"])
        for c in ranked[:6]:
            kept = "  <- kept" if c["min_token"] == min_token else ""
            lines.append(
                f"    {c['tokens_per_chunk']:>8.3f}  min_token {c['min_token']:>6}  {c['label']}"
                f"{kept}"
            )
        if len(ranked) > 6:
            lines.append(f"    ... {len(ranked) - 6} more (--json lists them all)")
    scale = fit.get("scale")
    if scale:
        lines.append(
            f"scale              {scale['scale']:g}, chosen for target RMSE "
            f"{scale['target_rmse']:g}: validation RMSE {scale['rmse']:.5f}, "
            f"{scale['tokens_per_chunk']:.2f} tokens per chunk (normalized units, "
            f"{scale['validation_chunks']} validation chunks)"
        )
        lines.append("  sweep: scale, validation RMSE, tokens per chunk where fitted")
        for row in scale["sweep"]:
            if row["rmse"] > 4 * scale["target_rmse"] or row["rmse"] < scale["rmse"] / 4:
                continue  # far from the target: the full sweep is in --json
            tokens = row.get("tokens_per_chunk")
            kept = "  <- chosen" if row["scale"] == scale["scale"] else ""
            note = "  (not fitted)" if row.get("note") and tokens is None else ""
            within = "<=" if row["rmse"] <= scale["target_rmse"] else "> "
            lines.append(
                f"    {row['scale']:>8g}  {row['rmse']:.5f} {within} target"
                + (f"  {tokens:.2f} tokens (min_token {row['min_token']})" if tokens else "")
                + kept
                + note
            )
    return lines


def _sweep_lines(r: dict[str, Any]) -> list[str]:
    lines = [
        "scale sweep (tokenizers fitted on a subsample, normalized units, placement "
        f"{r['sweep'][0]['placement']!r}):",
        f"  {'scale':>8} {'tokens':>8} {'RMSE':>9} {'max|err|':>9}  zero coefficient as",
    ]
    for row in r["sweep"]:
        mark = "  <- this tokenizer's scale" if row["scale"] == r["scale"] else ""
        zero = f"U+{row['zero_codepoint']:04X} {row['zero_class']}"
        lines.append(
            f"  {row['scale']:>8g} {row['mean_tokens']:>8.1f} {row['rmse']:>9.5f} "
            f"{row['max_abs']:>9.5f}  {zero:<19}{mark}".rstrip()
        )
    by_scale = {row["scale"]: row for row in r["sweep"]}
    for step in r["sweep_non_monotone"]:
        note = _sweep_note(step, by_scale[step["from_scale"]], by_scale[step["to_scale"]])
        lines += textwrap.wrap(note, width=100, subsequent_indent="  ")
    return lines


def _sweep_note(step: dict[str, Any], lo: dict[str, Any], hi: dict[str, Any]) -> str:
    """Why a larger scale gave fewer tokens (zero's character blamed only if its class changed)."""
    fewer = (
        f"note: scale {lo['scale']:g} -> {hi['scale']:g} gives fewer tokens "
        f"({lo['mean_tokens']:.1f} -> {hi['mean_tokens']:.1f})"
    )
    if not step["zero_class_changed"]:
        return (
            f"{fewer}: the count is not monotone in the scale here (zero's character is in the "
            f"same class, {lo['zero_class']}, at both scales, so that is not the cause)."
        )
    return (
        f"{fewer}: a zero coefficient, the most common, is the character chr(0 - min_token) and "
        f"min_token moves with the scale: U+{lo['zero_codepoint']:04X} ({lo['zero_class']}) at "
        f"{lo['scale']:g}, U+{hi['zero_codepoint']:04X} ({hi['zero_class']}) at {hi['scale']:g}. "
        "The GPT-2 pre-tokenizer splits where the character class (letter / number / other / "
        "whitespace) changes, so the pieces BPE merges, and the count, change with it."
    )
