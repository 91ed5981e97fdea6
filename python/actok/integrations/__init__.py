"""Optional integrations of actok's constrained decoding with model libraries.

Importing this package imports nothing beyond numpy. Each integration is its own module and
imports its library only when imported itself:

- :func:`apply_mask` (:mod:`actok.integrations.masking`): a constraint's boolean mask applied to
  numpy, torch or JAX logits (``-inf`` where an id is not allowed); needs no extra.
- :mod:`actok.integrations.transformers`: ``ActionConstraintLogitsProcessor``, a Hugging Face
  ``transformers`` logits processor for ``model.generate``; needs
  ``pip install 'actok[transformers]'`` (torch and transformers).
"""

from .masking import apply_mask

__all__ = ["apply_mask"]
