"""The ``actok`` command line: fit, inspect, encode and decode FAST tokenizers.

``actok fit`` and ``actok inspect`` run on the robosuite sample embedded in the package when DATA is
omitted, so ``actok fit -o tok && actok inspect tok`` works on a fresh install with no data at hand.
Every error actok raises is printed as one line (``actok: error: ...``) with exit status 2, and
so is a missing optional dependency (naming the ``pip install 'actok[EXTRA]'`` that provides it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import warnings
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np

from . import _cli_data, _hub, _inspect
from ._actok import (
    OPTIONS,
    ActokError,
    __version__,
    check_option,
    parse_placement,
    set_num_threads,
)
from ._chunking import chunk_episodes
from ._clipping import ClippingWarning
from ._extras import MissingExtra
from ._normalizer import Normalizer
from ._prep import DataPrep
from ._readers import Episodes, read_episodes
from ._tokenizer import FastTokenizer

#: The embedded sample: robosuite Lift teleoperation (3 episodes, 7-D, 20 Hz, MIT; see NOTICE.md).
SAMPLE = Path(__file__).resolve().parent / "data" / "robosuite_lift_7d_20hz.npz"


def main(argv: list[str] | None = None) -> int:
    """Runs the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 0:
        parser.error("--threads must be >= 0 (0 = actok's default)")
    try:
        if args.threads is not None:
            # 0 is the CLI's word for "actok's default" (ACTOK_NUM_THREADS or all cores).
            set_num_threads(args.threads or None)
        if isinstance(getattr(args, "tokenizer", None), str):
            # A hub id becomes its cached directory once, so every file beside the tokenizer
            # (actok_data.json among them) is read from the same place.
            args.tokenizer = Path(_hub.local_directory(args.tokenizer))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ClippingWarning)
            status = int(args.run(args))
        _report_warnings(caught)
        return status
    except BrokenPipeError:
        # The reader of stdout left (`actok inspect DIR | head`): nothing is wrong with the
        # user's data, so no error line; stdout goes to devnull so the exit flush stays silent.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ActokError, OSError, MissingExtra) as err:
        print(f"actok: error: {err}", file=sys.stderr)
        return 2


def _report_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Prints what the run warned about, one line each (clipping is data lost: never silent)."""
    for w in caught:
        print(f"actok: warning: {w.message}", file=sys.stderr)


TOKENIZER_HELP = (
    "tokenizer directory, or a Hugging Face hub id such as physical-intelligence/fast "
    "(needs actok[hub]; only its JSON files are fetched)"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="actok",
        description="FAST robot-action tokenization: fit tokenizers on your own robot's data, "
        "inspect them, and encode/decode action files.",
    )
    parser.add_argument("--version", action="version", version=f"actok {__version__}")
    parser.add_argument(
        "--threads", type=int, default=None, help="worker threads (default: all cores)"
    )
    sub = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    fit = sub.add_parser(
        "fit",
        help="fit a FAST tokenizer (and a normalizer) on action data",
        description="Reads episodes, fits a per-dimension normalizer on them, cuts chunks that "
        "never cross an episode boundary and fits a FAST tokenizer (DCT + quantization + BPE). "
        "Writes processor_config.json and tokenizer.json (loadable by the reference processor) "
        "and actok_normalizer.json.",
    )
    _add_data_argument(fit)
    fit.add_argument("-o", "--output", required=True, type=Path, help="tokenizer directory")
    fit.add_argument(
        "--force",
        action="store_true",
        help="write into OUTPUT even if it is a non-empty directory (its tokenizer files are "
        "replaced, other files kept)",
    )
    _add_chunking_arguments(fit)
    _cli_data.add_arguments(fit, fit=True)
    fit.add_argument("--scale", type=float, default=10.0, help="DCT coefficient scale (10)")
    fit.add_argument("--vocab-size", type=int, default=1024, help="BPE vocabulary size (1024)")
    fit.add_argument(
        "--normalize",
        type=_normalize_choice,
        metavar=_metavar([*OPTIONS["normalizer kind"], "none"]),
        default="quantile",
        help="per-dimension normalization fitted on the data, by the names of Python's "
        "Normalizer.fit(kind=...) (quantile, the default and FAST's recommendation: 1st/99th "
        "percentile to [-1, 1]; meanstd; minmax; identity: changes nothing but is saved "
        "and checks D) or none: no normalizer, Python's normalizer=None (DATA must already be "
        "normalized)",
    )
    fit.add_argument(
        "--out-of-range",
        type=_option("out_of_range"),
        metavar=_metavar(OPTIONS["out_of_range"]),
        default=None,
        help="the normalizer's policy for values outside its fitted range: keep (default: "
        "mapped beyond ±1, nothing lost), clip (FAST's recipe, lossy; counted and reported) "
        "or raise; values far outside the fitted data are refused under every policy",
    )
    fit.add_argument(
        "--alphabet",
        type=_option("alphabet"),
        metavar=_metavar(OPTIONS["alphabet"]),
        default="lossless",
        help="lossless (default): every coefficient in the fitted range encodes; reference: the "
        "reference recipe's alphabet, merges identical to the tokenizers library",
    )
    fit.add_argument(
        "--placement",
        type=_placement,
        metavar="{auto,reference,MIN_TOKEN}",
        default="auto",
        help="where the coefficients land in Unicode (min_token): auto (default) fits candidate "
        "placements on the first 80%% of the chunks and keeps the one with the fewest tokens on "
        "the last 20%% (the reference one unless another is better); reference: the reference "
        "recipe's; an integer fixes min_token. Every placement loads in the reference processor",
    )
    fit.add_argument(
        "--target-rmse",
        type=float,
        default=None,
        metavar="RMSE",
        help="choose the scale instead of --scale: the one with the fewest tokens per chunk "
        "among scales whose RMSE (normalized units) on the last 20%% of the chunks is at most "
        "RMSE; prints the scale and placement chosen",
    )
    fit.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar (one is drawn only when stderr is a terminal)",
    )
    fit.set_defaults(run=_fit)

    inspect = sub.add_parser(
        "inspect",
        help="report round-trip error, compression and a scale sweep",
        description="First the round trip a user gets, decode(encode(x)) against x in raw units "
        "(normalizer included), overall and per dimension with the values the normalizer "
        "clipped; then the tokenization-only error in normalized units, tokens per chunk "
        "(mean, p50, p99, max), compression against naive binning (one token per value), "
        "out-of-range counts, speed, and a small scale sweep (tokens vs error) to help choose "
        "--scale. Without DATA it runs on the bundled robosuite Lift sample and says so.",
    )
    inspect.add_argument("tokenizer", help=TOKENIZER_HELP)
    _add_data_argument(inspect)
    _add_chunking_arguments(inspect, horizon_from_tokenizer=True)
    _cli_data.add_arguments(inspect, fit=False)
    inspect.add_argument(
        "--plot",
        type=Path,
        default=None,
        metavar="PNG",
        help="also draw the report: a few chunks' original vs reconstructed actions, tokens per "
        "chunk, the scale sweep (needs matplotlib: pip install 'actok[plot]')",
    )
    inspect.add_argument(
        "--sweep",
        type=float,
        nargs="*",
        default=None,
        metavar="SCALE",
        help="scales for the sweep (default: 0.25x..4x the tokenizer's); give none to skip",
    )
    inspect.add_argument(
        "--sweep-chunks",
        type=int,
        default=5000,
        help="chunks the sweep's tokenizers are fitted and measured on (5000)",
    )
    inspect.add_argument("--json", action="store_true", help="print the report as JSON")
    inspect.set_defaults(run=_inspect_command)

    encode = sub.add_parser(
        "encode",
        help="tokenize a dataset into Parquet (or an .npz) of ids",
        description="Cuts DATA into chunks of the tokenizer's horizon (or reads ready-made chunks "
        "with --chunks). OUTPUT ending in .parquet: the dataset is streamed (row groups, a few "
        "tasks of episodes at a time) into rows of `episode_index`, `start_frame`, `ids` "
        "(list<int32>) and `length`, on --workers processes or a Ray cluster, identically. "
        "Otherwise OUTPUT is an .npz archive, named exactly as given, with `ids` "
        "(int32, all chunks concatenated), "
        "`offsets` (int64, N+1; chunk i is ids[offsets[i]:offsets[i+1]]), `time_horizon` and "
        "`action_dim`.",
    )
    encode.add_argument("tokenizer", help=TOKENIZER_HELP)
    encode.add_argument("data", type=Path, help=".npy, .npz or LeRobot dataset directory")
    encode.add_argument(
        "--key",
        default=None,
        help="array in an .npz (default: actions) or column of a LeRobot dataset (action)",
    )
    encode.add_argument(
        "-o",
        "--output",
        required=True,
        type=Path,
        help="output .parquet, or .npz (no suffix is added)",
    )
    _add_chunking_arguments(encode, horizon_from_tokenizer=True, with_seconds=False)
    _cli_data.add_arguments(encode, fit=False)
    scale = encode.add_argument_group("dataset scale (Parquet output)")
    scale.add_argument(
        "--workers", type=int, default=1, help="processes on this machine (1: this one)"
    )
    scale.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local (default) or ray: the same tasks on a Ray cluster (pip install 'actok[ray]'; "
        "DATA must be readable by every node)",
    )
    scale.add_argument(
        "--ray-address",
        default=None,
        help="Ray cluster to join (default: RAY_ADDRESS, else a local cluster of --workers CPUs, "
        "all CPUs when --workers is 1)",
    )
    scale.add_argument("--quiet", action="store_true", help="no progress bar")
    encode.add_argument(
        "--chunks",
        action="store_true",
        help="DATA holds an (N, H, D) array of chunks (the `actions` key of an .npz)",
    )
    encode.add_argument(
        "--on-overflow",
        type=_option("on_overflow"),
        metavar=_metavar(OPTIONS["on_overflow"]),
        default="raise",
        help="a coefficient outside the vocabulary: raise (default) or clip it",
    )
    encode.add_argument(
        "--any-shape",
        action="store_true",
        help="encode chunks of another (H, D) than the tokenizer was fitted to (refused by "
        "default: their tokens mean other DCT frequencies)",
    )
    encode.set_defaults(run=_encode)

    decode = sub.add_parser(
        "decode",
        help="turn ids (.parquet or .npz) back into actions",
        description="Reads the token file of `actok encode` (.parquet, row group by row group, "
        "or the `ids`/`offsets` of an .npz) and writes the decoded (N, H, D) "
        "float64 actions (raw units when the tokenizer carries a normalizer; delta dimensions "
        "stay relative to the state) to OUTPUT (an .npy array, named exactly as given).",
    )
    decode.add_argument("tokenizer", help=TOKENIZER_HELP)
    decode.add_argument("tokens", type=Path, help=".parquet or .npz written by `actok encode`")
    decode.add_argument(
        "-o", "--output", required=True, type=Path, help="output .npy (no suffix is added)"
    )
    decode.add_argument(
        "--on-error",
        type=_option("on_error"),
        metavar=_metavar(OPTIONS["on_error"]),
        default="raise",
        help="a malformed sequence: raise (default), keep its decodable prefix (pad), or zeros",
    )
    decode.set_defaults(run=_decode)
    return parser


def _option(option: str) -> Callable[[str], str]:
    """An argparse ``type`` that checks a value against the core's table for ``option``, so a
    bad value is refused with the core's own message, as it parses."""

    def check(text: str) -> str:
        try:
            return check_option(option, text)
        except ActokError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    check.__name__ = option
    return check


def _normalize_choice(text: str) -> str:
    """``--normalize``: a normalizer kind (the core's names, as in Python), or ``none`` (no
    normalizer: Python's ``normalizer=None``). A bad value is refused naming all of them."""
    if text == "none":
        return text
    try:
        return check_option("normalizer kind", text)
    except ActokError as err:
        # The core's message, unchanged, after the one name only the CLI adds.
        raise argparse.ArgumentTypeError(
            f'must be "none" (no normalizer) or a normalizer kind: {err}'
        ) from None


def _placement(text: str) -> str | int:
    """``--placement``: a placement name or an integer ``min_token``, parsed by the core (refused
    with the core's message as it parses)."""
    try:
        return parse_placement(text)
    except ActokError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _metavar(names: list[str]) -> str:
    return "{" + ",".join(names) + "}"


def _add_data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "data",
        nargs="?",
        type=Path,
        default=None,
        help=".npy, .npz (actions + episode_ends) or LeRobot dataset directory "
        "(default: the embedded robosuite Lift sample)",
    )
    parser.add_argument(
        "--key",
        default=None,
        help="array in an .npz (default: actions) or column of a LeRobot dataset (action)",
    )


def _add_chunking_arguments(
    parser: argparse.ArgumentParser,
    *,
    horizon_from_tokenizer: bool = False,
    with_seconds: bool = True,
) -> None:
    group = parser.add_mutually_exclusive_group()
    default = "the tokenizer's" if horizon_from_tokenizer else "1 second"
    group.add_argument("--horizon", type=int, help=f"chunk length in steps (default: {default})")
    if with_seconds:
        group.add_argument(
            "--seconds", type=float, help="chunk length in seconds (needs the data's fps)"
        )
    parser.add_argument("--fps", type=float, help="control rate, if the data does not store it")
    parser.add_argument("--stride", type=int, default=1, help="steps between chunk starts (1)")
    parser.add_argument(
        "--pad",
        type=_option("pad"),
        metavar=_metavar(OPTIONS["pad"]),
        default="repeat_last",
        help="chunks running past an episode's end: repeat its last action, or drop them",
    )


def _episodes(args: argparse.Namespace, prep: DataPrep | None = None) -> Episodes:
    path = SAMPLE if args.data is None else args.data
    if prep is None:
        episodes = read_episodes(path, key=args.key)
    else:
        episodes = read_episodes(
            path,
            key=prep.key,
            dims=prep.dims,
            state_key=prep.state_key if prep.delta_dims else None,
            max_episodes=args.max_episodes,
        )
    if args.fps is not None:
        if not args.fps > 0:
            raise ActokError(f"--fps must be > 0, got {args.fps}")
        episodes = dataclasses.replace(episodes, fps=args.fps)
    return episodes


def _horizon(args: argparse.Namespace, episodes: Episodes, tokenizer: FastTokenizer | None) -> int:
    if args.horizon is not None:
        return int(args.horizon)
    seconds = getattr(args, "seconds", None)
    if seconds is None and tokenizer is not None and tokenizer.time_horizon is not None:
        return tokenizer.time_horizon
    if episodes.fps is None:
        raise ActokError(
            f"{episodes.source} does not record its control rate: give --horizon, or --fps"
        )
    steps = round((1.0 if seconds is None else seconds) * episodes.fps)
    if steps < 1:
        raise ActokError(f"{seconds} s at {episodes.fps:g} Hz is less than one step")
    return int(steps)


def _fit(args: argparse.Namespace) -> int:
    _check_output_dir(args.output, args.force)
    stats = _stats_path(args)
    prep = _cli_data.for_fit(args, None if stats is None else str(stats))
    episodes = _episodes(args, prep)
    horizon = _horizon(args, episodes, None)
    if args.normalize == "none" and args.out_of_range is not None:
        raise ActokError("--out-of-range is the normalizer's policy: it needs --normalize")
    chunks = _chunks(args, prep, episodes, horizon)
    policy = args.out_of_range or "keep"
    if args.normalize == "none":
        normalizer = None
    elif stats is not None:
        normalizer = Normalizer.from_dataset_stats(
            stats,
            key=prep.key or "action",
            kind=args.normalize,
            dims=prep.dims,
            out_of_range=policy,
        )
    else:
        # Delta actions exist only per chunk: fit on what is encoded, the chunks.
        fitted_on = chunks if prep.delta_dims else episodes.episodes
        normalizer = Normalizer.fit(fitted_on, kind=args.normalize, out_of_range=policy)
    tokenizer = FastTokenizer.fit(
        chunks,
        scale=args.scale,
        vocab_size=args.vocab_size,
        alphabet=args.alphabet,
        normalizer=normalizer,
        # A bar redrawn with carriage returns is noise in a log file or a CI transcript.
        progress=not args.quiet and sys.stderr.isatty(),
        placement=args.placement,
        target_rmse=args.target_rmse,
    )
    tokenizer.save_pretrained(args.output)
    prep.save(args.output)
    print(
        f"fitted on {len(chunks)} chunks of {horizon}x{chunks.shape[2]} from {episodes.source} "
        f"({len(episodes.episodes)} episodes); normalizer: {args.normalize}"
        f"{'' if normalizer is None else f', out_of_range: {normalizer.out_of_range}'}"
        f"{'' if stats is None else f' (statistics of {stats})'}\n"
        f"wrote {args.output}: {tokenizer!r}"
    )
    if tokenizer.fit_report is not None:
        zero_class = _inspect.zero_class(tokenizer.min_token)
        print("\n".join(_inspect.fit_lines(tokenizer.fit_report, tokenizer.min_token, zero_class)))
    return 0


def _stats_path(args: argparse.Namespace) -> Path | None:
    """``--stats``: the stats file or dataset directory (``True``: DATA's)."""
    if args.stats is None:
        return None
    if args.normalize in ("none", "identity"):
        raise ActokError(
            f"--stats gives a normalizer's statistics: --normalize {args.normalize} "
            "has none (use quantile, meanstd or minmax)"
        )
    if args.stats is True:
        if args.data is None:
            raise ActokError("--stats without PATH reads DATA's meta/stats.json: give DATA")
        return Path(args.data)
    return Path(args.stats)


def _chunks(
    args: argparse.Namespace, prep: DataPrep, episodes: Episodes, horizon: int
) -> np.ndarray:
    """Chunks prepared as ``prep`` says, selected by --sample-fraction."""
    return chunk_episodes(
        episodes,
        horizon,
        stride=args.stride,
        pad=args.pad,
        delta_dims=prep.delta_dims or None,
        sample_fraction=args.sample_fraction,
    )


def _check_output_dir(path: Path, force: bool) -> None:
    """Refuses, before any work, to write a tokenizer into a directory that already holds files
    (another tokenizer, a dataset) unless ``--force`` says so."""
    if force or not path.is_dir() or not any(path.iterdir()):
        return
    raise ActokError(
        f"{path} exists and is not empty: choose a new directory for -o, or pass --force to "
        "write the tokenizer files into it (replacing any there, keeping the others)"
    )


def _inspect_command(args: argparse.Namespace) -> int:
    tokenizer = FastTokenizer.from_pretrained(args.tokenizer)
    prep = _cli_data.for_tokenizer(args, args.tokenizer)
    episodes = _episodes(args, prep)
    horizon = _horizon(args, episodes, tokenizer)
    if args.data is None:
        _check_sample_fits(args.tokenizer, tokenizer, episodes, horizon)
    chunks = _chunks(args, prep, episodes, horizon)
    fps, source, names = episodes.fps, episodes.source, episodes.dim_names
    del episodes  # the chunks hold the data now: one full-size copy is enough
    if args.sweep is None:
        sweep = [tokenizer.scale * f for f in (0.25, 0.5, 1.0, 2.0, 4.0)]
    else:
        sweep = list(args.sweep)
    lengths: list[np.ndarray] = []
    report = _inspect.inspect(
        tokenizer,
        chunks,
        fps=fps,
        sweep=sweep,
        sweep_chunks=args.sweep_chunks,
        dim_names=names,
        lengths_out=lengths,
    )
    report["data"] = source
    report["data_is_sample"] = args.data is None
    report["tokenizer"] = os.fspath(args.tokenizer)
    if args.plot is not None:
        from . import _plot

        _plot.draw(tokenizer, chunks, np.concatenate(lengths), report, args.plot)
        report["plot"] = os.fspath(args.plot)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(_inspect.format_report(report))
        if args.plot is not None:
            print(f"\nplot written to {args.plot}")
    return 0


def _check_sample_fits(
    path: Path, tokenizer: FastTokenizer, sample: Episodes, horizon: int
) -> None:
    """Without DATA, inspect runs on the bundled sample: refuse, in one line, a tokenizer whose
    chunks the sample cannot provide (other dimensions, or longer than its episodes)."""
    normalizer = tokenizer.normalizer
    dim = tokenizer.action_dim or (None if normalizer is None else normalizer.dim)
    longest = max(sample.lengths)
    if (dim is None or dim == sample.dim) and horizon <= longest:
        return
    raise ActokError(
        f"no DATA given, and the bundled sample ({sample.dim}-D episodes of at most {longest} "
        f"steps) cannot provide the {horizon}x{dim or 'D'} chunks (time steps x action dimensions) "
        f"{path} works on: pass the data to inspect it on, `actok inspect {path} DATA`"
    )


def _encode(args: argparse.Namespace) -> int:
    tokenizer = FastTokenizer.from_pretrained(args.tokenizer)
    if args.workers < 1:
        raise ActokError(f"--workers must be >= 1, got {args.workers}")
    parquet = args.output.suffix.lower() == ".parquet"
    if not parquet and (args.workers > 1 or args.engine != "local"):
        raise ActokError(
            f"--workers and --engine write Parquet: name the output OUT.parquet (got {args.output})"
        )
    if parquet:
        if args.chunks:
            raise ActokError("--chunks writes an .npz: Parquet output streams a dataset")
        from . import _cli_bulk

        return _cli_bulk.encode(args, tokenizer)
    if args.chunks:
        chunks = _read_chunks(args.data, args.key)
    else:
        prep = _cli_data.for_tokenizer(args, args.tokenizer)
        episodes = _episodes(args, prep)
        horizon = _horizon(args, episodes, tokenizer)
        chunks = _chunks(args, prep, episodes, horizon)
    ids, lengths = tokenizer.encode_batch(
        chunks, on_overflow=args.on_overflow, check_shape=not args.any_shape
    )
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = ids[np.arange(ids.shape[1]) < lengths[:, None]] if ids.size else ids.reshape(-1)
    with _create(args.output) as f:
        np.savez(
            f,
            ids=flat.astype(np.int32),
            offsets=offsets,
            time_horizon=np.int64(chunks.shape[1]),
            action_dim=np.int64(chunks.shape[2]),
        )
    mean = float(lengths.mean()) if len(lengths) else 0.0
    print(f"encoded {len(lengths)} chunks ({mean:.1f} tokens per chunk) into {args.output}")
    return 0


def _decode(args: argparse.Namespace) -> int:
    tokenizer = FastTokenizer.from_pretrained(args.tokenizer)
    if args.tokens.suffix.lower() == ".parquet":
        from . import _cli_bulk

        return _cli_bulk.decode(args, tokenizer)
    try:
        with np.load(args.tokens, allow_pickle=False) as z:
            ids, offsets = z["ids"], z["offsets"]
            horizon, dim = int(z["time_horizon"]), int(z["action_dim"])
    except (KeyError, ValueError) as err:
        raise ActokError(
            f"{args.tokens} is not a token file written by `actok encode`: {err}"
        ) from None
    if offsets.ndim != 1 or len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != len(ids):
        raise ActokError(f"{args.tokens}: offsets do not describe the ids array")
    if np.any(np.diff(offsets) < 0):
        raise ActokError(f"{args.tokens}: offsets are not non-decreasing")
    sequences = [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])]
    try:
        actions, valid = tokenizer.decode(
            sequences,
            time_horizon=horizon,
            action_dim=dim,
            on_error=args.on_error,
            return_valid=True,
        )
    except ActokError as err:
        # The shape came from the token file, not from the user: say so, and compare it with
        # the tokenizer's, since ids from another tokenizer are the usual cause.
        raise type(err)(
            f"{args.tokens} (chunks of {horizon}x{dim}, from the token file) with tokenizer "
            f"{args.tokenizer}: {err}{_foreign_ids_note(tokenizer, horizon, dim, str(err))}"
        ) from None
    with _create(args.output) as f:
        np.save(f, actions)
    bad = int(len(valid) - np.count_nonzero(valid))
    note = f"; {bad} malformed sequence(s) handled with on_error={args.on_error}" if bad else ""
    print(f"decoded {len(sequences)} chunks of {horizon}x{dim} into {args.output}{note}")
    return 0


def _create(path: Path) -> BinaryIO:
    """``path`` opened for writing, exactly as named: ``np.save``/``np.savez`` given a name append
    ``.npy``/``.npz`` when it lacks them, and the CLI would then report a file it did not write."""
    return open(path, "wb")


def _foreign_ids_note(tokenizer: FastTokenizer, horizon: int, dim: int, message: str) -> str:
    """A note when the tokenizer records a chunk shape other than the token file's."""
    recorded = (tokenizer.time_horizon, tokenizer.action_dim)
    if None in recorded or recorded == (horizon, dim):
        return ""
    # The core's message may already ask the question; then only the shape is added.
    question = (
        "" if "another tokenizer" in message else ": were these ids made with another tokenizer?"
    )
    return f" (the tokenizer was fitted on chunks of {recorded[0]}x{recorded[1]}{question})"


def _read_chunks(path: Path, key: str | None) -> np.ndarray:
    """An (N, H, D) array of ready-made chunks from an .npy or .npz file."""
    key_given, key = key, key or "actions"
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if key not in z:
                    raise ActokError(f"{path} has no array {key!r} (it has {sorted(z.files)})")
                chunks = z[key]
        else:
            if key_given is not None:
                raise ActokError(f"{path} is a .npy file, which holds one array: leave out --key")
            chunks = np.load(path, allow_pickle=False)
    except ValueError as err:
        raise ActokError(f"cannot read {path}: {err}") from None
    if chunks.ndim != 3:
        raise ActokError(f"--chunks needs an (N, H, D) array, {path} holds shape {chunks.shape}")
    return chunks
