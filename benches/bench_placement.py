#!/usr/bin/env python3
"""Tokens and RMSE per held-out 1-second chunk: actok's default fit against the reference recipe
(the form of FAST's Table I), on the robot data of ``../shared/data`` (a benchmark, never a test).

For each dataset:

* **split**: 80/20 by episode (the last 20% of the episodes held out); with fewer than 5 episodes
  (robosuite Lift has 3, Wipe 1) the last 20% of each episode's steps instead.
* **normalization**: FAST's recipe, a quantile normalizer fitted on the training steps (1st/99th
  percentile to -1/+1, values outside clipped), applied to both parts. Both tokenizers see the
  same normalized chunks, and RMSE is in these normalized units.
* **chunks**: ``fps`` steps (1 second) at stride 1, within episodes (a partial chunk at an
  episode's end is dropped).
* **reference**: ``tests/fast_reference.py``'s ``train_reference_tokenizer`` (scipy + the
  ``tokenizers`` ``BpeTrainer``, the reference ``fit``) at scale 10, vocab 1024; held-out chunks
  encoded and decoded by the reference processor's recipe (``reference_encode`` /
  ``reference_decode``: it clamps coefficients below ``min_token`` and drops symbols missing
  from the vocabulary silently, so its RMSE includes what that loses).
* **actok**: ``FastTokenizer.fit(raw_train, 10, 1024, normalizer=norm)``, every default
  (lossless alphabet, ``placement="auto"``), fitted through the same clipping normalizer, so it
  sees the same normalized chunks and knows they are clipped (its alphabet then reserves no
  coefficient a clipped chunk cannot reach: docs/semantics.md#lossless-alphabet); the
  normalizer is then detached, so held-out chunks are given normalized, as to the reference.
  They are encoded with ``on_overflow="clip"`` (the count of chunks that needed it is printed)
  and decoded. Its saved directory is then loaded by the reference
  recipe, which must give the same ids for every held-out chunk actok encodes without clipping
  (checked; the run fails otherwise).
* ``--target-rmse T`` adds a table: ``FastTokenizer.fit(train, target_rmse=T)`` per dataset, the
  scale and placement it chose, and its RMSE on the held-out chunks against the target.
* ``--pre-normalized`` fits actok on the normalized arrays instead (no normalizer attached).
* ``--explore`` adds a table of variants of the default fit (``max_token_length``,
  ``min_frequency``, the order of the training chunks), each on the held-out chunks.

Usage::

    python benches/bench_placement.py [--data ../shared/data] [--target-rmse 0.01 0.005]
                                      [--explore] [--pre-normalized]

Needs numpy, scipy and ``tokenizers`` (the test extras). Timings are not measured here.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fast_reference import (  # noqa: E402
    load_reference,
    reference_decode,
    reference_encode,
    train_reference_tokenizer,
)

import actok  # noqa: E402

SCALE = 10
VOCAB = 1024
NAMES = {
    "droid100_jointpos_gripper_8d_15hz.npz": "DROID (joint positions + gripper)",
    "droid100_cartesian_action_6d_15hz.npz": "DROID (cartesian pose)",
    "pusht_2d_10hz.npz": "PushT",
    "bridge_octo_debug_train_7d_5hz.npz": "BridgeData (10 steps × 25 episodes)",
    "robosuite_lift_7d_20hz.npz": "robosuite Lift",
    "robosuite_wipe_6d_20hz.npz": "robosuite Wipe",
}


@dataclass
class Dataset:
    name: str
    fps: int
    dim: int
    train: np.ndarray  # (N, H, D) normalized chunks
    test: np.ndarray
    raw_train: np.ndarray  # the training chunks before normalization
    norm: actok.Normalizer  # quantile, clipping, fitted on the training steps


def fit_actok(
    ds: Dataset, raw_train: np.ndarray | None = None, *, pre_normalized: bool = False, **kwargs
) -> actok.FastTokenizer:
    """actok's fit on the raw training chunks through ``ds.norm``, the normalizer detached (the
    tokenizer then works on normalized chunks, as the reference's does); with
    ``pre_normalized`` (``--pre-normalized``), on the normalized chunks without the normalizer."""
    chunks = ds.raw_train if raw_train is None else raw_train
    if pre_normalized:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", actok.ClippingWarning)
            return actok.FastTokenizer.fit(ds.norm.apply(chunks), **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", actok.ClippingWarning)
        tok = actok.FastTokenizer.fit(chunks, normalizer=ds.norm, **kwargs)
    return tok.with_normalizer(None)


def windows(episodes: list[np.ndarray], h: int) -> np.ndarray:
    parts = [
        np.lib.stride_tricks.sliding_window_view(e, h, axis=0).transpose(0, 2, 1)
        for e in episodes
        if len(e) >= h
    ]
    return np.ascontiguousarray(np.concatenate(parts)).astype(np.float64)


def load(path: Path) -> Dataset:
    z = np.load(path)
    actions = z["actions"].astype(np.float64)
    fps = int(z["fps"])
    episodes = np.split(actions, z["episode_ends"][:-1])
    if len(episodes) >= 5:
        cut = len(episodes) - max(1, round(len(episodes) * 0.2))
        train_eps, test_eps = episodes[:cut], episodes[cut:]
    else:
        cuts = [round(len(e) * 0.8) for e in episodes]
        train_eps = [e[:c] for e, c in zip(episodes, cuts)]
        test_eps = [e[c:] for e, c in zip(episodes, cuts)]
    raw_train = windows(train_eps, fps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", actok.ClippingWarning)
        norm = actok.Normalizer.fit(np.concatenate(train_eps), "quantile", out_of_range="clip")
        train_eps = [norm.apply(e) for e in train_eps]
        test_eps = [norm.apply(e) for e in test_eps]
    return Dataset(
        NAMES.get(path.name, path.stem),
        fps,
        actions.shape[1],
        windows(train_eps, fps),
        windows(test_eps, fps),
        raw_train,
        norm,
    )


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


@dataclass
class Result:
    tokens: float
    p99: float
    rmse: float
    clipped: int = 0
    placement: str = ""


def run_reference(ds: Dataset, tmp: Path) -> Result:
    out = train_reference_tokenizer(list(ds.train), SCALE, VOCAB, tmp / "reference")
    tok, cfg = load_reference(out)
    ids = reference_encode(tok, cfg, ds.test)
    h, d = ds.test.shape[1:]
    decoded = reference_decode(tok, cfg, ids, h, d)
    lengths = np.array([len(i) for i in ids])
    return Result(lengths.mean(), np.percentile(lengths, 99), rmse(decoded, ds.test))


def evaluate(tok: actok.FastTokenizer, ds: Dataset, tmp: Path, check: bool = True) -> Result:
    """Held-out tokens and RMSE of an actok tokenizer; with ``check``, the reference recipe
    loads its directory and must give the same ids (chunks encoded without clipping)."""
    h, d = ds.test.shape[1:]
    ids = tok.encode(ds.test, on_overflow="clip")
    strict = []
    for i, chunk in enumerate(ds.test):
        try:
            tok.encode(chunk)
            strict.append(i)
        except actok.EncodeError:
            pass
    decoded = tok.decode(ids, h, d)
    if check:
        tok.save_pretrained(tmp / "actok")
        ref_tok, cfg = load_reference(tmp / "actok")
        ref_ids = reference_encode(ref_tok, cfg, ds.test[strict])
        mine = [ids[i] for i in strict]
        if ref_ids != mine:
            raise SystemExit(f"{ds.name}: the reference recipe's ids differ from actok's")
    lengths = np.array([len(i) for i in ids])
    report = tok.fit_report or {}
    placement = report.get("placement", {})
    label = f"{placement.get('label', '?')} (min_token {tok.min_token})"
    return Result(
        lengths.mean(),
        np.percentile(lengths, 99),
        rmse(decoded, ds.test),
        len(ds.test) - len(strict),
        label,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--target-rmse", type=float, nargs="*", default=[])
    parser.add_argument("--explore", action="store_true")
    parser.add_argument(
        "--pre-normalized",
        action="store_true",
        help="fit actok on the normalized arrays without the normalizer (it cannot know they "
        "are clipped, so its alphabet keeps the whole margin)",
    )
    args = parser.parse_args()
    pre = args.pre_normalized
    files = sorted(args.data.glob("*.npz")) if args.data.is_dir() else []
    if not files:
        print(f"no .npz files in {args.data}: nothing to measure (the shared data is absent)")
        return
    datasets = [load(f) for f in files]

    print(
        f"Held-out tokens per 1-second chunk (mean, p99) and RMSE (normalized units), scale "
        f"{SCALE}, vocab {VOCAB}, 80/20 split\n"
    )
    print(
        "| dataset | D | Hz | held-out chunks | naive | reference: tokens (p99) | RMSE "
        "| actok default: tokens (p99) | RMSE | tokens vs reference | actok's placement |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    changes = []
    for ds in datasets:
        with tempfile.TemporaryDirectory() as tmp:
            ref = run_reference(ds, Path(tmp))
            tok = fit_actok(ds, pre_normalized=pre, scale=SCALE, vocab_size=VOCAB)
            ours = evaluate(tok, ds, Path(tmp))
        change = ours.tokens / ref.tokens - 1
        changes.append(change)
        clipped = f", {ours.clipped} clipped" if ours.clipped else ""
        print(
            f"| {ds.name} | {ds.dim} | {ds.fps} | {len(ds.test)}{clipped} | {ds.fps * ds.dim} "
            f"| {ref.tokens:.3f} ({ref.p99:.0f}) | {ref.rmse:.4f} "
            f"| {ours.tokens:.3f} ({ours.p99:.0f}) | {ours.rmse:.4f} | {change:+.2%} "
            f"| {ours.placement} |"
        )
    print(f"\nmean change in tokens per held-out chunk: {np.mean(changes):+.1%}")

    if args.target_rmse:
        print(
            "\n| dataset | target RMSE | chosen scale | placement | held-out RMSE | met | tokens |"
        )
        print("|---|---:|---:|---|---:|---|---:|")
        for target in args.target_rmse:
            for ds in datasets:
                with tempfile.TemporaryDirectory() as tmp:
                    tok = fit_actok(ds, pre_normalized=pre, vocab_size=VOCAB, target_rmse=target)
                    res = evaluate(tok, ds, Path(tmp))
                met = "yes" if res.rmse <= target else "NO"
                print(
                    f"| {ds.name} | {target} | {tok.scale:g} | {res.placement} | {res.rmse:.5f} "
                    f"| {met} | {res.tokens:.2f} |"
                )

    if args.explore:
        variants: dict[str, dict] = {
            "default": {},
            "placement=reference": {"placement": "reference"},
            "max_token_length=4": {"max_token_length": 4},
            "max_token_length=8": {"max_token_length": 8},
            "max_token_length=16": {"max_token_length": 16},
            "min_frequency=2 (the reference's)": {"min_frequency": 2},
            "min_frequency=4": {"min_frequency": 4},
            "training chunks shuffled": {"_shuffle": True},
        }
        print("\nVariants of the default fit: held-out tokens per chunk (RMSE is unchanged)\n")
        print("| variant | " + " | ".join(ds.name for ds in datasets) + " | mean vs default |")
        print("|---|" + "---:|" * (len(datasets) + 1))
        base: list[float] = []
        for name, kwargs in variants.items():
            row = []
            for ds in datasets:
                kw = dict(kwargs)
                train = ds.raw_train
                if kw.pop("_shuffle", False):
                    train = train[np.random.default_rng(0).permutation(len(train))]
                tok = fit_actok(ds, train, pre_normalized=pre, scale=SCALE, vocab_size=VOCAB, **kw)
                with tempfile.TemporaryDirectory() as tmp:
                    row.append(evaluate(tok, ds, Path(tmp), check=False).tokens)
            if not base:
                base = row
            rel = np.mean([r / b - 1 for r, b in zip(row, base)])
            print(f"| {name} | " + " | ".join(f"{r:.2f}" for r in row) + f" | {rel:+.1%} |")


if __name__ == "__main__":
    main()
