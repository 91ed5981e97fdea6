from .masking import apply_mask as apply_mask

__all__ = ["apply_mask"]
