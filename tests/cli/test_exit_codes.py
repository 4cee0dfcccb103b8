"""Every client error ends a command with the exit code docs/client.md documents."""

from __future__ import annotations

import pytest

from opscore.cli.remote import ExitCode, exit_code
from opscore.client.errors import TransportError, error_from_response


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, ExitCode.UNEXPECTED),
        (401, ExitCode.AUTH),
        (403, ExitCode.AUTH),
        (404, ExitCode.NOT_FOUND),
        (405, ExitCode.UNEXPECTED),
        (409, ExitCode.CONFLICT),
        (412, ExitCode.CONFLICT),
        (413, ExitCode.USAGE),
        (415, ExitCode.USAGE),
        (422, ExitCode.USAGE),
        (429, ExitCode.UNAVAILABLE),
        (500, ExitCode.UNAVAILABLE),
        (503, ExitCode.UNAVAILABLE),
    ],
)
def test_an_error_answer_maps_to_its_exit_code(status, code):
    assert exit_code(error_from_response(status, "", {}, b"")) == code


def test_a_network_failure_exits_as_unavailable():
    assert exit_code(TransportError("connection reset")) == ExitCode.UNAVAILABLE
