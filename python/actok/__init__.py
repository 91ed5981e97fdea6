"""actok: fast, exact FAST robot-action tokenization.

A Rust implementation of FAST (Pertsch et al., 2025) — DCT, quantization and byte-level BPE — that
returns exactly the token ids of the Hugging Face reference processor, much faster, and raises
instead of silently dropping coefficients or decoding malformed output to zeros.
"""

from ._actok import (
    ActokError,
    DecodeError,
    EncodeError,
    LoadError,
    __version__,
    get_num_threads,
    set_num_threads,
)
from ._chunking import chunk_episodes
from ._clipping import ClippingWarning
from ._constraint import Constraint, ConstraintBatch, openpi_vocab_map
from ._dct import dct, idct
from ._normalizer import Normalizer
from ._prep import DataPrep
from ._readers import Episodes, read_episodes
from ._tokenizer import FastTokenizer

__all__ = [
    "ActokError",
    "ClippingWarning",
    "Constraint",
    "ConstraintBatch",
    "DataPrep",
    "DecodeError",
    "EncodeError",
    "Episodes",
    "FastTokenizer",
    "LoadError",
    "Normalizer",
    "__version__",
    "chunk_episodes",
    "dct",
    "get_num_threads",
    "idct",
    "openpi_vocab_map",
    "read_episodes",
    "set_num_threads",
]
