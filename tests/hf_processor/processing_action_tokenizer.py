"""A FAST processor written from docs/semantics.md (the spec), for the layout tests only.

The official ``processing_action_tokenizer.py`` is not distributed with actok and is not copied
here. This class has the official one's name, attribute (``bpe_tokenizer``) and settings, so
that ``AutoProcessor.from_pretrained(dir, trust_remote_code=True)`` resolves a directory to it
through ``auto_map`` exactly as it would to the official class, and ``save_pretrained`` writes
each transformers version's layout. Its ``__call__`` and ``decode`` follow the spec (sections
1 and 2), enough to compare ids and actions with actok.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from transformers import ProcessorMixin


class UniversalActionProcessor(ProcessorMixin):
    attributes = ["bpe_tokenizer"]
    bpe_tokenizer_class = "AutoTokenizer"

    def __init__(
        self,
        bpe_tokenizer,
        scale: float = 10,
        vocab_size: int = 1024,
        min_token: int = 0,
        *,
        action_dim: int | None = None,
        time_horizon: int | None = None,
    ):
        self.scale = scale
        self.vocab_size = vocab_size
        self.min_token = min_token
        self.action_dim = action_dim
        self.time_horizon = time_horizon
        super().__init__(bpe_tokenizer=bpe_tokenizer)

    def __call__(self, action_chunk: np.ndarray) -> list[list[int]]:
        chunks = np.asarray(action_chunk, dtype=np.float64)
        if chunks.ndim == 2:
            chunks = chunks[None]
        coeffs = scipy.fft.dct(chunks, type=2, axis=1, norm="ortho")
        quantized = np.around(coeffs * self.scale).astype(np.int64)
        out = []
        for q in quantized:
            text = "".join(chr(max(int(v) - self.min_token, 0)) for v in q.reshape(-1))
            out.append(self.bpe_tokenizer(text)["input_ids"])
        return out

    def decode(self, tokens: list[list[int]], time_horizon: int, action_dim: int) -> np.ndarray:
        chunks = []
        for ids in tokens:
            text = self.bpe_tokenizer.decode(ids)
            q = np.array([ord(ch) + self.min_token for ch in text], dtype=np.float64)
            try:
                q = q.reshape(time_horizon, action_dim)
            except ValueError:
                q = np.zeros((time_horizon, action_dim))
            chunks.append(scipy.fft.idct(q / self.scale, type=2, axis=0, norm="ortho"))
        return np.stack(chunks)
