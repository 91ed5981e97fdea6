"""The CLI's data preparation options (LeRobot's FAST script's), shared by fit, encode, inspect.

``fit`` records them in the tokenizer directory (``actok_data.json``); ``encode`` and ``inspect``
read that record, so the same data is prepared the same way. Given again to ``encode`` or
``inspect`` with another value, an option is refused: the ids would mean something else.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._actok import ActokError
from ._prep import DEFAULT_STATE_KEY, FILE_NAME, DataPrep, parse_dims


def add_arguments(parser: argparse.ArgumentParser, *, fit: bool) -> None:
    recorded = "" if fit else " (default: as recorded by `actok fit`)"
    group = parser.add_argument_group("data preparation (as LeRobot's FAST training script)")
    group.add_argument(
        "--dims",
        default=None,
        metavar="RANGES",
        help="action dimensions to encode, e.g. 0:6,7:23 (half-open ranges) or 0,1,2" + recorded,
    )
    group.add_argument(
        "--delta-dims",
        default=None,
        metavar="RANGES",
        help="dimensions (indices of the stored action) encoded relative to the state at the "
        "chunk's first step: action - state" + recorded,
    )
    group.add_argument(
        "--state-key",
        default=None,
        help=f"state column / .npz array for --delta-dims ({DEFAULT_STATE_KEY})" + recorded,
    )
    group.add_argument(
        "--sample-fraction",
        type=float,
        default=None,
        metavar="F",
        help="keep max(1, int(n*F)) of each episode's n chunks, drawn as LeRobot's script does "
        "(seeded by the episode index; default: all)",
    )
    group.add_argument(
        "--max-episodes",
        type=int,
        default=None,
        metavar="N",
        help="use only the first N episodes",
    )
    if fit:
        group.add_argument(
            "--stats",
            nargs="?",
            const=True,
            default=None,
            metavar="PATH",
            help="normalize with a LeRobot dataset's meta/stats.json (q01/q99 for quantile, "
            "mean/std, min/max) instead of statistics fitted on the data; PATH: a dataset "
            "directory or a stats.json (default: DATA's)",
        )


def check_selection(args: argparse.Namespace) -> None:
    f = args.sample_fraction
    if f is not None and not 0.0 < f <= 1.0:
        raise ActokError(f"--sample-fraction must be in (0, 1], got {f:g}")
    if args.max_episodes is not None and args.max_episodes < 1:
        raise ActokError(f"--max-episodes must be >= 1, got {args.max_episodes}")


def for_fit(args: argparse.Namespace, stats_source: str | None) -> DataPrep:
    check_selection(args)
    prep = DataPrep(
        key=args.key,
        dims=args.dims,  # type: ignore[arg-type]
        delta_dims=args.delta_dims or (),  # type: ignore[arg-type]
        state_key=args.state_key or DEFAULT_STATE_KEY,
        stats_source=stats_source,
        fit_selection={
            k: v
            for k, v in (
                ("sample_fraction", args.sample_fraction),
                ("max_episodes", args.max_episodes),
            )
            if v is not None
        },
    )
    if args.state_key is not None and not prep.delta_dims:
        raise ActokError("--state-key is read for --delta-dims: give those too, or leave it out")
    return prep


def for_tokenizer(args: argparse.Namespace, tokenizer_dir: Path) -> DataPrep:
    """The preparation recorded with the tokenizer, with the options given now: an option that
    contradicts the record is refused."""
    check_selection(args)
    recorded_file = (tokenizer_dir / FILE_NAME).is_file()
    recorded = DataPrep.load(tokenizer_dir)
    given: dict[str, Any] = {
        "key": args.key,
        "dims": parse_dims(args.dims),
        "delta_dims": parse_dims(args.delta_dims, "--delta-dims"),
        "state_key": args.state_key,
    }
    if not recorded_file:
        return DataPrep(
            key=given["key"],
            dims=given["dims"],
            delta_dims=given["delta_dims"] or (),
            state_key=given["state_key"] or DEFAULT_STATE_KEY,
        )
    for name, value in given.items():
        if value is None:
            continue
        have = getattr(recorded, name)
        if name == "delta_dims":
            have = have or None
        if value != have:
            flag = "--" + name.replace("_", "-")
            raise ActokError(
                f"{flag} {_show(value)} differs from the {_show(have)} {tokenizer_dir} was "
                f"fitted with (recorded in {tokenizer_dir / FILE_NAME}): leave {flag} out, "
                "the recorded preparation is applied"
            )
    return recorded


def _show(value: Any) -> str:
    if value is None:
        return "default"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)
