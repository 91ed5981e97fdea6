"""``actok encode DATA -o OUT.parquet`` and ``actok decode TOKENIZER OUT.parquet``."""

from __future__ import annotations

import argparse
import os
import sys

from . import _bulk, _cli_data, _token_parquet
from ._actok import ActokError, get_num_threads
from ._extras import require
from ._progress import ProgressBar
from ._tokenizer import FastTokenizer


def encode(args: argparse.Namespace, tokenizer: FastTokenizer) -> int:
    require("pyarrow", extra="lerobot", needed_for="writing Parquet")
    prep = _cli_data.for_tokenizer(args, args.tokenizer)
    data = args.data
    if not data.exists():
        raise ActokError(f"cannot read episodes: {data} does not exist")
    key = prep.key or ("action" if data.is_dir() else "actions")
    stored_dim, fps = _bulk.dataset_dim(data, prep.key)
    if args.fps is not None:
        fps = args.fps
    horizon = _horizon(args, tokenizer, fps, str(data))
    dim = len(prep.dims) if prep.dims is not None else stored_dim
    threads = args.threads
    if threads is None and args.workers > 1 and args.engine == "local":
        # N processes share the cores: each gets its part, not a pool of all of them.
        threads = max(1, get_num_threads() // args.workers)
    job = _bulk.Job(
        tokenizer=tokenizer,
        prep=prep,
        key=key,
        horizon=horizon,
        stride=args.stride,
        pad=args.pad,
        on_overflow=args.on_overflow,
        check_shape=not args.any_shape,
        sample_fraction=args.sample_fraction,
        threads=threads or None,
    )
    plan = _bulk.plan(data, job, args.max_episodes, stored_dim)
    metadata = {
        "time_horizon": horizon,
        "action_dim": dim,
        "stride": args.stride,
        "pad": args.pad,
        "source": plan.source,
        "fps": fps,
        "sample_fraction": args.sample_fraction,
        "max_episodes": args.max_episodes,
        "prep": None if prep.is_default else prep.to_json(),
    }
    bar = ProgressBar(command="actok encode") if not args.quiet and sys.stderr.isatty() else None
    try:
        chunks, tokens = _token_parquet.write(
            job,
            plan,
            args.output,
            metadata,
            engine=args.engine,
            workers=args.workers,
            ray_address=args.ray_address or os.environ.get("RAY_ADDRESS"),
            progress=bar,
        )
    finally:
        if bar is not None:
            bar.close()
    mean = tokens / chunks if chunks else 0.0
    where = "ray" if args.engine == "ray" else f"{args.workers} worker(s)"
    print(
        f"encoded {chunks} chunks of {horizon}x{dim} ({mean:.1f} tokens per chunk) from "
        f"{plan.episodes} episodes, {plan.frames} frames of {plan.source} on {where} "
        f"into {args.output}"
    )
    return 0


def _horizon(
    args: argparse.Namespace, tokenizer: FastTokenizer, fps: float | None, src: str
) -> int:
    if args.horizon is not None:
        return int(args.horizon)
    if tokenizer.time_horizon is not None:
        return tokenizer.time_horizon
    if fps is None:
        raise ActokError(f"{src} does not record its control rate: give --horizon, or --fps")
    return max(1, round(fps))


def decode(args: argparse.Namespace, tokenizer: FastTokenizer) -> int:
    try:
        n, h, d, bad, meta = _token_parquet.decode_parquet(
            tokenizer, args.tokens, args.output, args.on_error
        )
    except ActokError as err:
        raise type(err)(f"{args.tokens} with tokenizer {args.tokenizer}: {err}") from None
    note = f"; {bad} malformed sequence(s) handled with on_error={args.on_error}" if bad else ""
    if meta.get("prep"):
        from ._prep import DataPrep

        prep = DataPrep.from_json(meta["prep"])
        if prep.delta_dims:
            note += (
                f"; dimensions {','.join(map(str, prep.delta_dims))} are relative to the state "
                "at each chunk's first step (DataPrep.add_state adds it back)"
            )
    print(f"decoded {n} chunks of {h}x{d} into {args.output}{note}")
    return 0
