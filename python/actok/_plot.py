"""``actok inspect --plot``: the report as a picture (matplotlib, the ``[plot]`` extra).

Top row: three chunks (the median, the 99th percentile and the longest in tokens), original
(solid) against decode(encode(x)) (dashed) per dimension, raw units. Bottom row: the
tokens-per-chunk histogram and the scale sweep (tokens against RMSE).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._extras import require
from ._tokenizer import FastTokenizer

#: Figure size in inches and resolution: 1500 x 900 pixels.
SIZE = (15.0, 9.0)
DPI = 100
#: Dimensions drawn per chunk (more lines are unreadable; the title says when some are left out).
MAX_DIMS = 8


def draw(
    tokenizer: FastTokenizer,
    chunks: np.ndarray,
    lengths: np.ndarray,
    report: dict[str, Any],
    path: os.PathLike[str] | str,
) -> None:
    """Writes the PNG; raises :class:`MissingExtra` without matplotlib."""
    require("matplotlib", extra="plot", needed_for="actok inspect --plot")
    # The Figure API with the Agg canvas: no pyplot, no display, no global state.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 6)
    picks = _examples(lengths)
    _, h, d = chunks.shape
    shown = min(d, MAX_DIMS)
    ids, lens = tokenizer.encode_batch(chunks[picks], on_overflow="clip")
    decoded = tokenizer.decode((ids, lens), time_horizon=h, action_dim=d)
    colors = [f"C{i}" for i in range(10)]
    for k, (label, i) in enumerate(zip(("median", "p99", "longest"), picks)):
        ax = fig.add_subplot(grid[0, 2 * k : 2 * k + 2])
        steps = np.arange(h)
        for j in range(shown):
            ax.plot(steps, chunks[i, :, j], color=colors[j % 10], lw=1.6, label=f"dim {j}")
            ax.plot(steps, decoded[k, :, j], color=colors[j % 10], lw=1.2, ls="--")
        more = f", first {shown} of {d} dims" if shown < d else ""
        ax.set_title(f"chunk {i} ({label}: {int(lengths[i])} tokens){more}", fontsize=10)
        ax.set_xlabel("step")
        if k == 0:
            ax.set_ylabel("action (raw units)")
            ax.legend(
                fontsize=7, ncol=2, title="solid: original, dashed: decoded", title_fontsize=7
            )
    hist = fig.add_subplot(grid[1, :3])
    low, high = int(lengths.min()), int(lengths.max())
    # One bar per token count while they fit; 80 bars beyond.
    bins: Any = 80 if high - low > 80 else list(np.arange(low, high + 2) - 0.5)
    hist.hist(lengths, bins=bins, color="C0")
    t = report["tokens"]
    hist.set_title(
        f"tokens per chunk ({len(lengths)} chunks of {h}x{d}): mean {t['mean']:.1f}, "
        f"p99 {t['p99']:.0f}, max {t['max']}; naive {h * d}",
        fontsize=10,
    )
    hist.set_xlabel("tokens")
    hist.set_ylabel("chunks")
    sweep = fig.add_subplot(grid[1, 3:])
    rows = report.get("sweep") or []
    if rows:
        tokens = [r["mean_tokens"] for r in rows]
        rmse = [r["rmse"] for r in rows]
        sweep.plot(tokens, rmse, "o-", color="C1")
        for r in rows:
            mark = " (this)" if r["scale"] == report["scale"] else ""
            sweep.annotate(
                f"scale {r['scale']:g}{mark}",
                (r["mean_tokens"], r["rmse"]),
                textcoords="offset points",
                xytext=(5, 5),
                fontsize=8,
            )
        sweep.set_yscale("log")
    else:
        sweep.text(0.5, 0.5, "no sweep (--sweep with no scale)", ha="center", va="center")
    sweep.set_title("scale sweep: mean tokens per chunk vs RMSE (normalized units)", fontsize=10)
    sweep.set_xlabel("mean tokens per chunk")
    sweep.set_ylabel("RMSE")
    rt = report["round_trip_raw"]
    data = os.path.basename(str(report.get("data", "")))
    data += " (bundled sample)" if report.get("data_is_sample") else ""
    fig.suptitle(
        f"actok inspect {os.path.basename(str(report.get('tokenizer', '')))} on {data}: "
        f"round-trip RMSE {rt['rmse']:.4g} (raw units), scale {report['scale']:g}, "
        f"vocab {report['vocab_size']}",
        fontsize=11,
    )
    fig.savefig(os.fspath(path), dpi=DPI)


def _examples(lengths: np.ndarray) -> list[int]:
    """The chunks with the median, the 99th percentile and the most tokens."""
    order = np.argsort(lengths, kind="stable")
    n = len(order)
    return [int(order[n // 2]), int(order[min(n - 1, int(0.99 * n))]), int(order[-1])]
