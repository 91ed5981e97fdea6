"""``chunk_episodes``: fixed-horizon action chunks that never cross an episode boundary."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _actok, _convert
from ._actok import ActokError
from ._arrays import episode_list
from ._prep import DataPrep, parse_dims


def chunk_episodes(
    episodes: object,
    horizon: int,
    stride: int = 1,
    pad: str = "repeat_last",
    *,
    delta_dims: str | Sequence[int] | None = None,
    states: object = None,
    sample_fraction: float | None = None,
) -> np.ndarray:
    """Cuts episodes into ``(N, horizon, D)`` action chunks, never across an episode boundary.

    ``episodes`` is a list of ``(T_i, D)`` arrays, one ``(T, D)`` array (one episode), an
    ``(N, T, D)`` array (N episodes) or an :class:`Episodes`. Chunks start at
    ``t = 0, stride, 2*stride, ...`` of each episode and are ordered episode-major, then by start
    time. With ``pad="repeat_last"`` (the LeRobot/openpi convention) every start ``t < T_i`` is
    used and steps past the episode's end repeat its last action; with ``pad="drop"`` only chunks
    fully inside the episode (``t <= T_i - horizon``) are kept, so an episode shorter than
    ``horizon`` contributes none (the result may have ``N = 0``).

    ``delta_dims`` (indices into the stored action, as in LeRobot's FAST script; ``"0:6"`` or a
    list) makes those dimensions relative to the state at the chunk's first step:
    ``action[t, d] - state[start, d]``. The states come from ``states`` (one ``(T_i, S)`` array per
    episode) or the :class:`Episodes` (``read_episodes(..., state_key=...)``), whose ``dims``
    maps the kept action columns back to stored indices. ``sample_fraction`` in ``(0, 1]`` keeps
    ``max(1, int(n * fraction))`` of each episode's ``n`` chunks, drawn without replacement by
    ``np.random.RandomState(e).choice`` with ``e`` the episode's index (``Episodes.episode_index``,
    else its position: the draw of LeRobot's script), kept in time order.

    float32 stays float32; other dtypes become float64 (as in :func:`dct`). Raises
    :class:`ActokError` for ``horizon``/``stride`` < 1, an unknown ``pad``, an empty episode,
    episodes of different D (naming the episode), delta dimensions without states or outside
    them, or a fraction outside ``(0, 1]``.
    """
    chunks, _, _ = chunk_positions(
        episodes,
        horizon,
        stride,
        pad,
        delta_dims=delta_dims,
        states=states,
        sample_fraction=sample_fraction,
    )
    return chunks


def chunk_positions(
    episodes: object,
    horizon: int,
    stride: int = 1,
    pad: str = "repeat_last",
    *,
    delta_dims: str | Sequence[int] | None = None,
    states: object = None,
    sample_fraction: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`chunk_episodes` and, for each chunk, its episode's position and its first step."""
    h = _convert.count(horizon, "horizon")
    s = _convert.count(stride, "stride")
    parts = episode_list(episodes)
    chunks = _actok.chunk_episodes(parts, h, s, pad)
    episode, start = _starts([len(p) for p in parts], h, s, pad)
    delta = parse_dims(delta_dims, "delta_dims")
    if delta:
        if states is None:
            states = getattr(episodes, "states", None)
        if states is None:
            raise ActokError(
                "delta_dims need the robot state: read the episodes with state_key= (the CLI's "
                "--state-key, default observation.state) or pass states="
            )
        prep = DataPrep(dims=getattr(episodes, "dims", None), delta_dims=delta)
        _subtract_state(chunks, episode, start, list(states), prep, len(parts))  # type: ignore[call-overload]
    if sample_fraction is not None:
        ids = getattr(episodes, "episode_index", None)
        seeds = np.arange(len(parts)) if ids is None else np.asarray(ids, dtype=np.int64)
        keep = _sample(episode, seeds, sample_fraction)
        chunks, episode, start = chunks[keep], episode[keep], start[keep]
    return chunks, episode, start


def _starts(lengths: list[int], h: int, s: int, pad: str) -> tuple[np.ndarray, np.ndarray]:
    """Episode position and first step of each chunk, in the core's order."""
    episode, start = [], []
    for e, t in enumerate(lengths):
        last = t if pad == "repeat_last" else t - h + 1
        steps = np.arange(0, max(last, 0), s, dtype=np.int64)
        episode.append(np.full(len(steps), e, dtype=np.int64))
        start.append(steps)
    if not lengths:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(episode), np.concatenate(start)


def _subtract_state(
    chunks: np.ndarray,
    episode: np.ndarray,
    start: np.ndarray,
    states: list[object],
    prep: DataPrep,
    count: int,
) -> None:
    if len(states) != count:
        raise ActokError(f"{len(states)} state arrays for {count} episodes")
    cols, state_dims = prep.delta_columns()
    if len(cols) and int(cols.max()) >= chunks.shape[2] and len(chunks):
        raise ActokError(
            f"delta_dims select dimension {int(state_dims.max())}, but the action has "
            f"{chunks.shape[2]} dimensions"
        )
    rows = []
    for e, st in enumerate(states):
        a = np.asarray(st)
        if a.ndim != 2:
            raise ActokError(f"state of episode {e} must be (T, S), got shape {a.shape}")
        if a.shape[1] <= int(state_dims.max()):
            raise ActokError(
                f"delta dimension {int(state_dims.max())} needs state dimension "
                f"{int(state_dims.max())}, but the state of episode {e} has {a.shape[1]}"
            )
        rows.append(a[:, state_dims])
    if not len(chunks):
        return
    lengths = np.asarray([len(r) for r in rows])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    flat = np.concatenate(rows)
    at_start = flat[offsets[episode] + start]  # (N, len(cols)): the state at each chunk's start
    chunks[:, :, cols] = chunks[:, :, cols] - at_start[:, None, :].astype(chunks.dtype)


def _sample(episode: np.ndarray, seeds: np.ndarray, fraction: float) -> np.ndarray:
    f = float(fraction)
    if not 0.0 < f <= 1.0:
        raise ActokError(f"sample_fraction must be in (0, 1], got {fraction!r}")
    if f == 1.0:
        return np.arange(len(episode))
    keep = []
    bounds = np.flatnonzero(np.diff(episode)) + 1
    for first, stop in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [len(episode)]])):
        n = int(stop - first)
        if n == 0:
            continue
        k = max(1, int(n * f))
        picked = np.random.RandomState(int(seeds[episode[first]])).choice(n, size=k, replace=False)
        keep.append(first + np.sort(picked))
    return np.concatenate(keep) if keep else np.zeros(0, np.int64)
