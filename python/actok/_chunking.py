"""``chunk_episodes``: fixed-horizon action chunks that never cross an episode boundary."""

from __future__ import annotations

import numpy as np

from . import _actok, _convert
from ._arrays import episode_list


def chunk_episodes(
    episodes: object, horizon: int, stride: int = 1, pad: str = "repeat_last"
) -> np.ndarray:
    """Cuts episodes into ``(N, horizon, D)`` action chunks, never across an episode boundary.

    ``episodes`` is a list of ``(T_i, D)`` arrays, one ``(T, D)`` array (one episode), an
    ``(N, T, D)`` array (N episodes) or an :class:`Episodes`. Chunks start at
    ``t = 0, stride, 2*stride, ...`` of each episode and are ordered episode-major, then by start
    time. With ``pad="repeat_last"`` (the LeRobot/openpi convention) every start ``t < T_i`` is
    used and steps past the episode's end repeat its last action; with ``pad="drop"`` only chunks
    fully inside the episode (``t <= T_i - horizon``) are kept, so an episode shorter than
    ``horizon`` contributes none (the result may have ``N = 0``).

    float32 stays float32; other dtypes become float64 (as in :func:`dct`). Raises
    :class:`ActokError` for ``horizon``/``stride`` < 1, an unknown ``pad``, an empty episode or
    episodes of different D (naming the episode).
    """
    h = _convert.count(horizon, "horizon")
    s = _convert.count(stride, "stride")
    return _actok.chunk_episodes(episode_list(episodes), h, s, pad)
