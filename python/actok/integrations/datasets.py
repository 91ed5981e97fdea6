"""Hugging Face ``datasets``: a batched map that adds a list column of action token ids.

``ActionEncoder`` is the function for ``Dataset.map(batched=True)``. On a dataset in Arrow
format it reads the actions' Arrow list column and writes the ids' Arrow list column with one
call into the core per batch and no loop over rows (list levels are flattened to one buffer, ids
leave as values + offsets)::

    encode = ActionEncoder(tok, column="actions")             # or a tokenizer directory
    ds = ds.with_format("arrow").map(encode, batched=True, num_proc=4)
    ds["action_ids"]                                          # list<int32>, one list per chunk

It pickles by value (the tokenizer travels as its JSON), so ``num_proc`` workers need nothing
else, and ``datasets`` fingerprints it for its cache. This module needs ``datasets``
(``pip install 'actok[datasets]'``); ``import actok`` does not import it.
"""

from __future__ import annotations

from .._extras import require

_NEEDED_FOR = "actok.integrations.datasets"
require("datasets", extra="datasets", needed_for=_NEEDED_FOR)
require("pyarrow", extra="datasets", needed_for=_NEEDED_FOR)

from ._batch_encoder import BatchEncoder  # noqa: E402

__all__ = ["ActionEncoder"]


class ActionEncoder(BatchEncoder):
    """The batched map function: adds ``ids_column`` (``list<int32>``) to each batch.

    ``tokenizer``: a :class:`actok.FastTokenizer` or the path of a tokenizer directory.
    ``column``: the actions, one ``(H, D)`` chunk per row: nested lists (``Array2D``, or a
    list of lists), or flat lists of ``H * D`` numbers with ``chunk_shape=(H, D)`` (default: the
    tokenizer's config, when it records both). ``lengths_column``: also write each row's number
    of ids (int32). ``drop_column``: leave the actions out of the result. ``on_overflow`` and
    ``check_shape`` are those of :meth:`actok.FastTokenizer.encode`; a row that cannot be
    encoded raises, naming it, and nothing is written.

    A batch is a ``pyarrow.Table`` (``with_format("arrow")``: the fast path, the result a table
    of the batch's columns plus the ids) or a dict of numpy arrays (``with_format("numpy")``).
    """
