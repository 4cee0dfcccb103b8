"""Ops-Core: run fleets of AI agents as explicit state machines."""

from loguru import logger

__version__ = "0.1.0"

# A library stays silent until the application configures logging (opscore.logs).
logger.disable("opscore")
