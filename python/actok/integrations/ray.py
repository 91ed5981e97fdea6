"""Ray Data: an encoder class for ``ray.data.Dataset.map_batches``.

``ActionEncoder`` adds a column of action token ids to each batch, one call into the core per
batch, in the ``"pyarrow"`` (a ``list<int32>`` column, no loop over rows) and ``"numpy"`` (an
object column of int32 arrays) batch formats. Ship the tokenizer by value (it pickles as its
JSON) or by directory, loaded once per actor::

    ds.map_batches(ActionEncoder(tok), batch_format="pyarrow")                 # tasks
    ds.map_batches(ActionEncoder, fn_constructor_kwargs={"tokenizer": "tok/"},
                   batch_format="numpy", concurrency=4)                        # actors

This module needs Ray Data (``pip install 'actok[ray]'``); ``import actok`` does not import it.
"""

from __future__ import annotations

from .._extras import require

_NEEDED_FOR = "actok.integrations.ray"
require("ray.data", extra="ray", needed_for=_NEEDED_FOR)
require("pyarrow", extra="ray", needed_for=_NEEDED_FOR)

from ._batch_encoder import BatchEncoder  # noqa: E402

__all__ = ["ActionEncoder"]


class ActionEncoder(BatchEncoder):
    """The ``map_batches`` callable: adds ``ids_column`` to each batch.

    ``tokenizer``: a :class:`actok.FastTokenizer` or the path of a tokenizer directory (a path
    every worker node can read). ``column``: the actions, one ``(H, D)`` chunk per row (a tensor
    column, nested lists, or flat lists of ``H * D`` numbers with ``chunk_shape=(H, D)``;
    default: the tokenizer's config, when it records both). ``lengths_column``: also write each
    row's number of ids (int32). ``drop_column``: leave the actions out of the result.
    ``on_overflow`` and ``check_shape`` are those of :meth:`actok.FastTokenizer.encode`; a row
    that cannot be encoded raises, naming it.

    Batches: a ``pyarrow.Table`` (``batch_format="pyarrow"``) gets a ``list<int32>`` column; a
    dict of numpy arrays (``batch_format="numpy"``) gets a 1-D object array of int32 arrays,
    which Ray stores as a variable-shaped tensor column.
    """
