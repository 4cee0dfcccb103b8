"""Static checks of a shape-valid machine document; every problem is reported, none stops early."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any, Protocol

from ..problems import Problem
from ..yamlsafe import Document

RESERVED_TRIGGERS = frozenset({"trigger", "state", "machine", "model"})
RESERVED_TRIGGER_PREFIXES = ("is_", "may_", "to_", "on_enter_", "on_exit_")


class CallbackNames(Protocol):
    """What the checks need to know of the callback registry."""

    def has_condition(self, name: str) -> bool: ...

    def has_action(self, name: str) -> bool: ...


def expand_sources(source: list[str], states: list[dict]) -> list[str]:
    """Expand "*" to every non-final state; other names stay as written."""
    if source == ["*"]:
        return [s["name"] for s in states if not s["final"]]
    return source


def check_machine(doc: Document, data: dict, callbacks: CallbackNames) -> list[Problem]:
    """Every defect of a shape-valid machine document, errors and warnings."""
    problems = list(_duplicate_states(doc, data))
    names = {s["name"] for s in data["states"]}
    unknown = list(_unknown_states(doc, data, names))
    problems += unknown
    problems += _final_sources(doc, data)
    problems += _shadowed_transitions(doc, data)
    problems += _reserved_triggers(doc, data)
    problems += _unknown_callbacks(doc, data, callbacks)
    if not unknown:
        # With a misspelt state, every state behind it would also look unreachable.
        problems += _reachability(doc, data)
    if data["kind"] == "session":
        problems += _session_closable(doc, data)
    problems += _heartbeat(doc, data)
    return problems


def _heartbeat(doc: Document, data: dict) -> Iterator[Problem]:
    """A heartbeat's `missed` event must be one of the machine's triggers, on an agent."""
    heartbeat = data.get("heartbeat")
    if heartbeat is None:
        return
    if data["kind"] != "agent":
        yield doc.problem(("heartbeat",), "only an agent machine can watch heartbeats")
    triggers = {t["trigger"] for t in data["transitions"]}
    if heartbeat["missed"] not in triggers:
        yield doc.problem(
            ("heartbeat", "missed"), f"unknown event '{heartbeat['missed']}' (not a trigger)"
        )


def _duplicate_states(doc: Document, data: dict) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for i, state in enumerate(data["states"]):
        if state["name"] in first:
            at = f"states[{first[state['name']]}]"
            yield doc.problem(
                ("states", i, "name"), f"duplicate state '{state['name']}' (first at {at})"
            )
        first.setdefault(state["name"], i)


def _unknown_states(doc: Document, data: dict, names: set[str]) -> Iterator[Problem]:
    if data["initial"] not in names:
        yield doc.problem(("initial",), f"unknown state '{data['initial']}'")
    for i, transition in enumerate(data["transitions"]):
        source = transition["source"]
        for k, name in enumerate(source):
            if name == "*" and len(source) > 1:
                yield doc.problem(("transitions", i, "source", k), '"*" must stand alone')
            elif name != "*" and name not in names:
                path = ("transitions", i, "source") + ((k,) if len(source) > 1 else ())
                yield doc.problem(path, f"unknown state '{name}'")
        if transition["dest"] not in names:
            yield doc.problem(("transitions", i, "dest"), f"unknown state '{transition['dest']}'")


def _final_sources(doc: Document, data: dict) -> Iterator[Problem]:
    finals = {s["name"] for s in data["states"] if s["final"]}
    for i, transition in enumerate(data["transitions"]):
        for name in transition["source"]:
            if name in finals:
                message = f"final state '{name}' cannot have an outgoing transition"
                yield doc.problem(("transitions", i, "source"), message)


def _shadowed_transitions(doc: Document, data: dict) -> Iterator[Problem]:
    unguarded: dict[tuple[str, str], int] = {}
    for i, transition in enumerate(data["transitions"]):
        for source in expand_sources(transition["source"], data["states"]):
            key = (transition["trigger"], source)
            if key in unguarded:
                first = unguarded[key]
                message = (
                    f"trigger '{key[0]}' from '{source}' can never be taken: "
                    f"transitions[{first}] has no condition and always wins"
                )
                yield doc.problem(("transitions", i, "trigger"), message)
            elif not (transition["conditions"] or transition["unless"]):
                unguarded[key] = i


def _reserved_triggers(doc: Document, data: dict) -> Iterator[Problem]:
    for i, transition in enumerate(data["transitions"]):
        trigger = transition["trigger"]
        if trigger in RESERVED_TRIGGERS or trigger.startswith(RESERVED_TRIGGER_PREFIXES):
            message = f"trigger '{trigger}' collides with a name the engine reserves"
            yield doc.problem(("transitions", i, "trigger"), message)


def _unknown_callbacks(doc: Document, data: dict, callbacks: CallbackNames) -> Iterator[Problem]:
    for i, state in enumerate(data["states"]):
        for field in ("on_enter", "on_exit"):
            yield from _names(
                doc, ("states", i, field), state[field], "action", callbacks.has_action
            )
    for i, transition in enumerate(data["transitions"]):
        for field in ("conditions", "unless"):
            path = ("transitions", i, field)
            yield from _names(doc, path, transition[field], "condition", callbacks.has_condition)
        for field in ("before", "after"):
            path = ("transitions", i, field)
            yield from _names(doc, path, transition[field], "action", callbacks.has_action)


def _names(
    doc: Document, path: tuple, names: list[str], what: str, known: Any
) -> Iterator[Problem]:
    for k, name in enumerate(names):
        if not known(name):
            hint = "; dotted paths are never imported" if "." in name else ""
            yield doc.problem((*path, k), f"unknown {what} '{name}' (not in the registry{hint})")


def unreachable(initial: str, edges: dict[str, set[str]], names: list[str]) -> list[str]:
    """The names (in order) that no path of `edges` reaches from `initial`."""
    seen = {initial}
    queue = deque(seen)
    while queue:
        for nxt in edges.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return [name for name in names if name not in seen]


def _reachability(doc: Document, data: dict) -> Iterator[Problem]:
    edges: dict[str, set[str]] = {s["name"]: set() for s in data["states"]}
    for transition in data["transitions"]:
        for source in expand_sources(transition["source"], data["states"]):
            edges.setdefault(source, set()).add(transition["dest"])
    lost = set(unreachable(data["initial"], edges, [s["name"] for s in data["states"]]))
    for i, state in enumerate(data["states"]):
        name = state["name"]
        if name in lost:
            yield doc.problem(
                ("states", i), f"unreachable state '{name}' (no path from '{data['initial']}')"
            )
        elif not state["final"] and not edges.get(name):
            message = f"state '{name}' is not final and has no way out"
            yield doc.problem(("states", i), message, severity="warning")


SESSION_CLOSE_EVENT = "close"


def _session_closable(doc: Document, data: dict) -> Iterator[Problem]:
    """Sessions close when their agent ends, so `close` must leave every non-final state."""
    finals = {s["name"] for s in data["states"] if s["final"]}
    closable = {
        source
        for t in data["transitions"]
        if t["trigger"] == SESSION_CLOSE_EVENT and t["dest"] in finals
        for source in expand_sources(t["source"], data["states"])
    }
    for i, state in enumerate(data["states"]):
        if not state["final"] and state["name"] not in closable:
            message = (
                f"session state '{state['name']}' has no '{SESSION_CLOSE_EVENT}' "
                "transition to a final state"
            )
            yield doc.problem(("states", i), message)
