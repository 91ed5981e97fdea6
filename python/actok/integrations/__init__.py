"""Optional integrations of actok with model libraries and data pipelines.

Importing this package imports nothing beyond numpy. Each integration is its own module and
imports its library only when imported itself:

- :func:`apply_mask` (:mod:`actok.integrations.masking`): a constraint's boolean mask applied to
  numpy, torch or JAX logits (``-inf`` where an id is not allowed); needs no extra.
- :mod:`actok.integrations.transformers`: ``ActionConstraintLogitsProcessor``, a Hugging Face
  ``transformers`` logits processor for ``model.generate``; needs
  ``pip install 'actok[transformers]'`` (torch and transformers).
- :mod:`actok.integrations.torch`: ``ActionCollator``, a ``DataLoader`` ``collate_fn`` giving
  padded ``torch.long`` ids and an attention mask, and its inverse; needs
  ``pip install 'actok[torch]'``.
- :mod:`actok.integrations.datasets`: ``ActionEncoder``, the function for Hugging Face
  ``Dataset.map(batched=True)`` (an Arrow list column of ids); needs
  ``pip install 'actok[datasets]'``.
- :mod:`actok.integrations.ray`: ``ActionEncoder``, the callable for Ray Data's
  ``map_batches``; needs ``pip install 'actok[ray]'``.
"""

from .masking import apply_mask

__all__ = ["apply_mask"]
