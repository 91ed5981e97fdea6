"""Hugging Face hub ids (``"org/name"``) for :meth:`FastTokenizer.from_pretrained`.

Resolved through ``huggingface_hub`` (the ``hub`` extra), so its standard cache, token and
``HF_HUB_OFFLINE`` apply as in every Hugging Face library. Only ``*.json`` files are fetched: a
FAST repository also holds the reference processor's Python code, which actok neither needs nor
ever downloads or runs.
"""

from __future__ import annotations

import os
import re

from ._actok import ActokError, LoadError
from ._extras import require

# What the hub accepts as "org/name": letters, digits, "-", "_", "." (no "--" or "..", no
# leading or trailing "-" or "."), at most 96 characters. Only the two-part form is read as an
# id: a single missing name ("my-tok") is a missing local directory, not a download.
_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_REPO_ID = re.compile(rf"{_PART}/{_PART}")

# Every file a FAST directory can need, in every layout (bpe_tokenizer/ included: the pattern
# matches across "/"), and nothing executable.
_ALLOW_PATTERNS = ["*.json"]


def is_repo_id(path: str) -> bool:
    """Whether ``path``, which is not a local directory, reads as a hub id ``"org/name"``."""
    return (
        len(path) <= 96
        and _REPO_ID.fullmatch(path) is not None
        and ".." not in path
        and "--" not in path
    )


def local_directory(path: str, revision: str | None = None) -> str:
    """``path`` itself when it is a local directory (``revision`` must then be None), its
    cached snapshot when it is a hub id, else ``path`` unchanged (loading then reports it
    missing)."""
    if os.path.isdir(path):
        if revision is not None:
            raise ActokError(
                f"revision={revision!r} applies to hub ids, but {path!r} is a local "
                "directory: check out that revision there, or drop revision="
            )
        return path
    if is_repo_id(path):
        return snapshot(path, revision)
    return path


def snapshot(repo_id: str, revision: str | None) -> str:
    """The local directory holding ``repo_id``'s JSON files at ``revision`` (default: main),
    from the cache or downloaded into it; :class:`LoadError` saying what was looked for and
    where when that fails."""
    hub = require(
        "huggingface_hub",
        extra="hub",
        needed_for=f"loading {repo_id!r}, which is no local directory, as a Hugging Face hub id,",
    )
    from huggingface_hub import constants

    try:
        return hub.snapshot_download(repo_id, revision=revision, allow_patterns=_ALLOW_PATTERNS)
    except Exception as err:  # every failure of the hub client: network, auth, missing repo
        offline = "on" if constants.HF_HUB_OFFLINE else "off"
        where = os.path.join(constants.HF_HUB_CACHE, f"models--{repo_id.replace('/', '--')}")
        raise LoadError(
            f"cannot load {repo_id!r}: no local directory of that name, and as a Hugging Face "
            f"hub id (revision {revision or 'main'}) its *.json files were not found: "
            f"{type(err).__name__}: {_first_line(err)} (cache: {where}; HF_HUB_OFFLINE is "
            f"{offline}). Check the id and revision, download it once while online, or pass "
            "the path of a local copy."
        ) from None


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else "no details"
