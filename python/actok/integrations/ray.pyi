from ._batch_encoder import BatchEncoder

__all__ = ["ActionEncoder"]

class ActionEncoder(BatchEncoder): ...
