"""The engine: the single place that touches `transitions`."""

from .compiler import CompiledMachine
from .fire import Engine, FireContext

__all__ = ["CompiledMachine", "Engine", "FireContext"]
