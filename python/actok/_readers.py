"""``read_episodes``: robot action episodes from .npy, .npz and LeRobot dataset directories."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np

from ._actok import ActokError, LoadError
from ._extras import require
from ._prep import check_dims, parse_dims

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True, eq=False)
class Episodes:
    """Action episodes read from a dataset.

    ``episodes[i]`` is the ``(T_i, D)`` array of episode ``i`` (dtype as stored). ``fps`` is the
    control rate when the source records it (a FAST "1-second chunk" is ``fps`` steps);
    ``dim_names`` names the D action dimensions when known; ``source`` is where they came from.
    Pass it directly to :func:`chunk_episodes` or :meth:`Normalizer.fit`.
    """

    episodes: list[np.ndarray]
    fps: float | None = None
    dim_names: list[str] | None = None
    source: str = ""
    #: ``states[i]``: the ``(T_i, S)`` robot state of episode ``i`` (read with ``state_key``).
    states: list[np.ndarray] | None = None
    #: The action dimensions kept (indices into the stored action; ``None``: all of them).
    dims: tuple[int, ...] | None = None
    #: Each episode's index in the dataset (LeRobot's ``episode_index``; else its position).
    episode_index: list[int] | None = None

    @property
    def dim(self) -> int:
        """The action dimension D."""
        return int(self.episodes[0].shape[1]) if self.episodes else 0

    @property
    def lengths(self) -> list[int]:
        """The number of steps of each episode."""
        return [len(e) for e in self.episodes]

    def __len__(self) -> int:
        return len(self.episodes)

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.episodes)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.episodes[index]

    def __repr__(self) -> str:
        return (
            f"Episodes({len(self)} episodes, {sum(self.lengths)} steps, D={self.dim}, "
            f"fps={self.fps}, source={self.source!r})"
        )


def read_episodes(
    path: PathLike,
    *,
    key: str | None = None,
    dims: str | Sequence[int] | None = None,
    state_key: str | None = None,
    max_episodes: int | None = None,
) -> Episodes:
    """Reads action episodes from a file or a LeRobot dataset directory.

    - ``.npy``: a ``(T, D)`` array is one episode, an ``(N, T, D)`` array N equal-length episodes
      (the file holds one array: a ``key`` is refused rather than ignored).
    - ``.npz``: ``key`` (default ``"actions"``) holds ``(T, D)`` actions of all episodes
      concatenated; optional ``episode_ends`` (cumulative end index of each episode), ``fps`` and
      ``dim_names``.
    - a LeRobot dataset directory (v2.x ``data/chunk-*/episode_*.parquet`` or v3
      ``data/chunk-*/file-*.parquet``): column ``key`` (default ``"action"``) per frame, grouped by
      ``episode_index`` and ordered by ``frame_index``; ``meta/info.json`` gives ``fps`` and the
      action names. Needs pyarrow (``pip install 'actok[lerobot]'``); without it, raises
      ``ImportError`` whose one-line message names that command.

    The data preparation of LeRobot's FAST training script: ``dims`` keeps those action
    dimensions, in order (``"0:6,7:23"`` or a list of indices; recorded in ``Episodes.dims``);
    ``state_key`` also reads the robot state (a LeRobot column such as ``"observation.state"``,
    or an .npz array with one row per action) into ``Episodes.states``, for delta actions (see
    :func:`chunk_episodes`); ``max_episodes`` keeps the first episodes (by episode index).

    Never unpickles. Raises :class:`LoadError` for a missing path, a missing key, a bad shape,
    a non-numeric dtype or inconsistent episode boundaries, and :class:`ActokError` for bad
    ``dims``.
    """
    p = Path(os.fspath(path))
    selected = parse_dims(dims)
    if max_episodes is not None and (isinstance(max_episodes, bool) or int(max_episodes) < 1):
        raise ActokError(f"max_episodes must be a positive integer, got {max_episodes!r}")
    if p.is_dir():
        read = _read_lerobot(p, key or "action", state_key)
    elif not p.exists():
        raise LoadError(f"cannot read episodes: {p} does not exist")
    elif p.suffix.lower() == ".npy":
        if key is not None or state_key is not None:
            what = "key" if key is not None else "state_key"
            raise LoadError(
                f"{p} is a .npy file, which holds one array: {what}="
                f"{key if key is not None else state_key!r} names an array of an .npz archive "
                "or a column of a LeRobot dataset (leave it out for .npy)"
            )
        read = _read_npy(p)
    elif p.suffix.lower() == ".npz":
        read = _read_npz(p, key or "actions", state_key)
    else:
        raise LoadError(
            f"cannot read episodes from {p}: expected a .npy or .npz file or a LeRobot dataset "
            "directory"
        )
    return select(read, selected, max_episodes)


def select(
    read: Episodes, dims: tuple[int, ...] | None, max_episodes: int | None = None
) -> Episodes:
    """``read`` restricted to the action dimensions ``dims`` and its first ``max_episodes``."""
    episodes, states, index = read.episodes, read.states, read.episode_index
    if max_episodes is not None:
        n = int(max_episodes)
        episodes = episodes[:n]
        states = None if states is None else states[:n]
        index = None if index is None else index[:n]
    names = read.dim_names
    if dims is not None:
        check_dims(dims, read.dim, f"the action of {read.source}")
        cols = list(dims)
        episodes = [e[:, cols] for e in episodes]
        names = None if names is None else [names[i] for i in cols]
    return dataclasses.replace(
        read, episodes=episodes, states=states, episode_index=index, dim_names=names, dims=dims
    )


def _check_actions(a: np.ndarray, where: str, ndims: tuple[int, ...] = (2,)) -> np.ndarray:
    if a.dtype.kind not in "fiu":
        raise LoadError(f"{where}: actions must be numeric (float or int), got dtype {a.dtype}")
    if a.ndim not in ndims:
        shapes = " or ".join({2: "(T, D)", 3: "(N, T, D)"}[n] for n in ndims)
        raise LoadError(f"{where}: actions must have shape {shapes}, got shape {a.shape}")
    if a.shape[-1] < 1 or a.shape[-2] < 1:
        raise LoadError(f"{where}: actions of shape {a.shape} hold no steps or no dimensions")
    return a


def _load(p: Path) -> Any:
    try:
        return np.load(p, allow_pickle=False)
    except ValueError as exc:  # object arrays need pickle
        raise LoadError(f"cannot read {p}: {exc}") from None
    except OSError as exc:
        raise LoadError(f"cannot read {p}: {exc}") from None


def _read_npy(p: Path) -> Episodes:
    a = _load(p)
    if not isinstance(a, np.ndarray):
        a.close()
        raise LoadError(f"{p} is an .npz archive, not a .npy array (rename it to .npz)")
    a = _check_actions(a, str(p), (2, 3))
    episodes = [a] if a.ndim == 2 else list(a)
    return Episodes(episodes=episodes, source=str(p))


def _read_npz(p: Path, key: str, state_key: str | None = None) -> Episodes:
    archive = _load(p)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise LoadError(f"{p} is a .npy array, not an .npz archive (rename it to .npy)")
    with archive as z:
        if key not in z.files:
            raise LoadError(f"{p} has no array {key!r} (it holds: {', '.join(z.files) or 'none'})")
        try:
            actions = _check_actions(z[key], f"{p}[{key!r}]")
            ends = z["episode_ends"] if "episode_ends" in z.files else None
            fps = z["fps"] if "fps" in z.files else None
            names = z["dim_names"] if "dim_names" in z.files else None
            state = None
            if state_key is not None:
                if state_key not in z.files:
                    raise LoadError(
                        f"{p} has no state array {state_key!r} (it holds: {', '.join(z.files)}): "
                        "name it with --state-key"
                    )
                state = _check_actions(z[state_key], f"{p}[{state_key!r}]")
                if len(state) != len(actions):
                    raise LoadError(
                        f"{p}: state {state_key!r} has {len(state)} rows, actions {len(actions)}"
                    )
        except ValueError as exc:  # an object array inside the archive
            raise LoadError(f"cannot read {p}: {exc}") from None
    total = len(actions)
    if ends is None:
        episodes = [actions]
    else:
        ends = np.asarray(ends)
        if ends.ndim != 1 or ends.dtype.kind not in "iu" or len(ends) == 0:
            raise LoadError(f"{p}: episode_ends must be a non-empty 1-D integer array")
        previous = np.concatenate([[0], ends[:-1]])
        empty = np.flatnonzero(ends <= previous)
        if len(empty):
            e = int(empty[0])
            raise LoadError(
                f"{p}: episode_ends must be strictly increasing and positive, but episode {e} "
                f"ends at {int(ends[e])} after starting at {int(previous[e])}"
            )
        if int(ends[-1]) != total:
            raise LoadError(
                f"{p}: the last episode_ends value is {int(ends[-1])}, "
                f"but {key!r} has {total} steps"
            )
        episodes = np.split(actions, ends[:-1])
    states = None
    if state is not None:
        states = [state] if ends is None else np.split(state, ends[:-1])
    fps_value = None
    if fps is not None:
        fps = np.asarray(fps)
        if fps.size != 1 or fps.dtype.kind not in "fiu" or not float(fps) > 0:
            raise LoadError(f"{p}: fps must be one positive number, got {fps!r}")
        fps_value = float(fps)
    return Episodes(
        episodes=episodes,
        fps=fps_value,
        dim_names=_dim_names(names, actions.shape[1], str(p)),
        source=str(p),
        states=states,
        episode_index=list(range(len(episodes))),
    )


def _dim_names(names: Any, dim: int, where: str) -> list[str] | None:
    if names is None:
        return None
    names = [str(n) for n in np.asarray(names).ravel().tolist()]
    if len(names) != dim:
        raise LoadError(f"{where}: {len(names)} dim_names for {dim} action dimensions")
    return names


def _lerobot_names(feature: Any) -> Any:
    """``features.<key>.names`` of LeRobot's info.json: a list, or ``{"motors": [...]}``."""
    names = feature.get("names") if isinstance(feature, dict) else None
    if isinstance(names, dict) and len(names) == 1:
        names = next(iter(names.values()))
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return names
    return None


def _read_lerobot(root: Path, key: str, state_key: str | None = None) -> Episodes:
    info_path = root / "meta" / "info.json"
    data_dir = root / "data"
    if not data_dir.is_dir():
        raise LoadError(
            f"{root} is a directory but not a LeRobot dataset (no data/ folder of parquet files)"
        )
    info: dict[str, Any] = {}
    if info_path.exists():
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LoadError(f"cannot read {info_path}: {exc}") from None
        if not isinstance(info, dict):
            raise LoadError(f"{info_path} is not a JSON object")
    files = sorted(data_dir.rglob("*.parquet"))
    if not files:
        raise LoadError(f"{data_dir} holds no .parquet files")
    pa = require("pyarrow", extra="lerobot", needed_for="reading LeRobot datasets")
    pq = require("pyarrow.parquet", extra="lerobot", needed_for="reading LeRobot datasets")

    actions, states, episode_index, frame_index = [], [], [], []
    for f in files:
        try:
            schema = pq.read_schema(f)
        except (OSError, pa.ArrowException) as exc:
            raise LoadError(f"cannot read {f}: {exc}") from None
        needed = (key, "episode_index") + (() if state_key is None else (state_key,))
        for column in needed:
            if column not in schema.names:
                raise LoadError(
                    f"{f} has no column {column!r} (it has: {', '.join(schema.names)})"
                    + (": name the state column with --state-key" if column == state_key else "")
                )
        columns = list(needed) + (["frame_index"] if "frame_index" in schema.names else [])
        table = pq.read_table(f, columns=columns)
        actions.append(_action_matrix(table.column(key), f"{f}[{key!r}]", pa))
        if state_key is not None:
            states.append(_action_matrix(table.column(state_key), f"{f}[{state_key!r}]", pa))
        episode_index.append(_int_column(table.column("episode_index"), f"{f}[episode_index]"))
        if "frame_index" in columns:
            frame_index.append(_int_column(table.column("frame_index"), f"{f}[frame_index]"))
    dims = {a.shape[1] for a in actions}
    if len(dims) > 1:
        raise LoadError(f"{root}: files disagree on the action dimension ({sorted(dims)})")
    if frame_index and len(frame_index) != len(files):
        raise LoadError(f"{root}: some parquet files have a frame_index column and some do not")
    all_actions = np.concatenate(actions)
    episode = np.concatenate(episode_index)
    if frame_index:
        frame = np.concatenate(frame_index)
        order = np.lexsort((frame, episode))
        frame = frame[order]
    else:
        order = np.argsort(episode, kind="stable")
    episode = episode[order]
    all_actions = all_actions[order]
    all_states = np.concatenate(states)[order] if state_key is not None else None
    starts = np.flatnonzero(np.diff(episode)) + 1
    if frame_index:
        same = (np.diff(episode) == 0) & (np.diff(frame) == 0)
        if same.any():
            i = int(np.flatnonzero(same)[0])
            raise LoadError(
                f"{root}: episode {int(episode[i])} has frame_index {int(frame[i])} twice"
            )
    episodes = np.split(all_actions, starts)
    fps = info.get("fps")
    ids = [int(i) for i in episode[np.concatenate([[0], starts])]] if len(episode) else []
    features = info.get("features", {})
    names = _lerobot_names(features.get(key) if isinstance(features, dict) else None)
    if names is not None and len(names) != all_actions.shape[1]:
        names = None  # names for a differently shaped feature; do not guess
    return Episodes(
        episodes=episodes,
        fps=float(fps) if isinstance(fps, (int, float)) and not isinstance(fps, bool) else None,
        dim_names=names,
        source=str(root),
        states=None if all_states is None else np.split(all_states, starts),
        episode_index=ids,
    )


def _action_matrix(column: Any, where: str, pa: Any) -> np.ndarray:
    """A (rows, D) array from a list / fixed-size-list (or scalar) parquet column."""
    if column.null_count:
        raise LoadError(f"{where}: {column.null_count} rows are null")
    array = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    rows = len(array)
    kind = array.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        if pa.types.is_fixed_size_list(kind):
            lengths = np.full(rows, kind.list_size)
        else:
            lengths = np.asarray(array.value_lengths())
        if rows and (lengths != lengths[0]).any():
            i = int(np.flatnonzero(lengths != lengths[0])[0])
            raise LoadError(
                f"{where}: row {i} has {int(lengths[i])} values, row 0 has {int(lengths[0])}"
            )
        values = array.flatten()
        if values.null_count:
            raise LoadError(f"{where}: holds null values")
        flat = _numeric(values, where, pa)
        dim = int(lengths[0]) if rows else 0
        return flat.reshape(rows, dim)
    return _numeric(array, where, pa).reshape(rows, 1)


def _numeric(values: Any, where: str, pa: Any) -> np.ndarray:
    kind = values.type
    if not (pa.types.is_floating(kind) or pa.types.is_integer(kind)):
        raise LoadError(f"{where}: actions must be numeric, got {kind}")
    return np.asarray(values.to_numpy(zero_copy_only=False))


def _int_column(column: Any, where: str) -> np.ndarray:
    a = np.asarray(column.to_numpy())
    if a.dtype.kind not in "iu":
        raise LoadError(f"{where}: must be integers, got {a.dtype}")
    return a.astype(np.int64)
