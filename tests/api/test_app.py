"""The Flask application class: what it changes of Flask's own behaviour."""

from __future__ import annotations

import inspect

import pytest

from opscore.api import app as app_module
from opscore.api.app import REMEMBERED_FUNCTIONS, OpsCoreFlask


@pytest.fixture
def asked(monkeypatch):
    """The functions `inspect.iscoroutinefunction` is asked about, in order."""
    functions, ask = [], inspect.iscoroutinefunction

    def iscoroutinefunction(func):
        functions.append(func)
        return ask(func)

    monkeypatch.setattr(app_module, "iscoroutinefunction", iscoroutinefunction)
    return functions


class View:
    def dispatch_request(self):
        return "ok"


def test_a_plain_function_is_run_as_it_is_and_asked_about_once(asked):
    app = OpsCoreFlask("t")

    def hook():
        return None

    assert [app.ensure_sync(hook) for _ in range(3)] == [hook] * 3
    assert asked == [hook]


def test_methods_bound_anew_each_request_are_asked_about_once(asked):
    app = OpsCoreFlask("t")
    first, second = View().dispatch_request, View().dispatch_request
    assert (app.ensure_sync(first), app.ensure_sync(second)) == (first, second)
    assert asked == [first]


def test_a_coroutine_function_is_still_wrapped_to_run_synchronously(asked, monkeypatch):
    app = OpsCoreFlask("t")
    monkeypatch.setattr(app, "async_to_sync", lambda func: ("wrapped", func))

    async def view():
        return "ok"

    assert app.ensure_sync(view) == app.ensure_sync(view) == ("wrapped", view)
    assert asked == [view]


def test_past_its_bound_functions_are_asked_about_each_time(asked):
    app = OpsCoreFlask("t")
    functions = [lambda: None for _ in range(REMEMBERED_FUNCTIONS + 1)]
    for func in functions:
        app.ensure_sync(func)
    app.ensure_sync(functions[0])
    app.ensure_sync(functions[-1])
    assert asked == [*functions, functions[-1]]
