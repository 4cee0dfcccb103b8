"""Machine definitions: safe loading, validation, static checks and the versioned registry."""

from .loader import LoadResult, definition_files, load_file, load_text
from .model import MachineDefinition, StateSpec, TransitionSpec
from .problems import DefinitionError, Problem
from .registry import DefinitionRegistry
from .workflow.compile import load_workflow  # registers `kind: workflow` with the loader

__all__ = [
    "DefinitionError",
    "DefinitionRegistry",
    "LoadResult",
    "MachineDefinition",
    "Problem",
    "StateSpec",
    "TransitionSpec",
    "definition_files",
    "load_file",
    "load_text",
    "load_workflow",
]
