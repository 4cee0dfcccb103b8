"""The runs suites serve the workflow core (manual clock, real workers) over HTTP."""

from __future__ import annotations

import pytest


@pytest.fixture
def app(workflow_app):
    """The app under test is the workflow core's."""
    return workflow_app
