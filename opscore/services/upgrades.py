"""Moving an instance to a newer version of its machine, renamed states mapped, recorded in
its history as an `(upgrade)` transition (a name no event can have).

What every upgrade checks lives here: the version it moves to (`upgrade_target`) and the
renames it asks for (`Renames`). Agents move through `Upgrades`; runs, whose state is more
than a state name, through opscore/runs/upgrades.py with the same checks.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from ..definitions import DefinitionRegistry, MachineDefinition
from ..errors import InvalidRequest
from ..model import Instance
from .idempotency import IdempotentRequest
from .lifecycle import UPGRADE_EVENT, Fired, Lifecycle, Plan

__all__ = ["UPGRADE_EVENT", "Renames", "Upgrades", "upgrade_target"]


def upgrade_target(
    definitions: DefinitionRegistry, current: Instance, version: int
) -> MachineDefinition:
    """The version of its machine `current` may move to: MachineNotFound (a 404) when there
    is none; InvalidRequest naming `version` when it does not grow or is retired."""
    target = definitions.get(current.machine, version)
    if version <= current.version:
        raise InvalidRequest(
            f"{current.kind} '{current.id}' is on '{current.machine}' version "
            f"{current.version}; an upgrade moves to a newer one",
            "version",
        )
    if definitions.is_retired(current.machine, version):
        raise InvalidRequest(f"'{current.machine}' version {version} is retired", "version")
    return target


@dataclass(frozen=True)
class Renames:
    """An upgrade's renames (old name -> new name; other names stay), each new name one of
    the target's `names` (its states, or a workflow's steps), called `noun`s in messages."""

    renames: Mapping[str, str]
    target: MachineDefinition
    names: Collection[str]
    noun: str = "state"

    @classmethod
    def checked(
        cls,
        renames: Mapping[str, str],
        target: MachineDefinition,
        names: Collection[str],
        noun: str = "state",
    ) -> Renames:
        """The renames, once every new name is one of `names` (InvalidRequest otherwise)."""
        for old, new in sorted(renames.items()):
            if new not in names:
                raise InvalidRequest(
                    f"{noun} '{new}' (for '{old}') does not exist in {_where(target)}", "states"
                )
        return cls(dict(renames), target, names, noun)

    def __call__(self, name: str) -> str:
        """`name` as it is called in the target."""
        return self.renames.get(name, name)

    def existing(self, name: str) -> str:
        """`name` as it is called in the target, which must have it (InvalidRequest otherwise,
        saying how to map it)."""
        renamed = self(name)
        if renamed not in self.names:
            raise InvalidRequest(
                f"{self.noun} '{renamed}' does not exist in {_where(self.target)}; "
                f"map it with states: {{{name}: ...}}",
                "states",
            )
        return renamed

    def distinct(self, names: Collection[str], whose: str) -> None:
        """InvalidRequest when the renames would give two of `names` (those of `whose`) one
        name: each keeps a record that the other's would overwrite."""
        renamed: dict[str, str] = {}
        for name in sorted(names):
            new = self(name)
            if new in renamed:
                raise InvalidRequest(
                    f"states would call {self.noun}s '{renamed[new]}' and '{name}' of {whose} "
                    f"both '{new}'",
                    "states",
                )
            renamed[new] = name


def _where(target: MachineDefinition) -> str:
    return f"'{target.name}' version {target.version}"


class Upgrades:
    """Upgrades of instances whose state is their state's name (agents), through the
    lifecycle."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle

    def upgrade(
        self,
        kind: str,
        instance_id: str,
        version: int,
        states: Mapping[str, str],
        idempotency: IdempotentRequest | None = None,
    ) -> Fired:
        """Move the instance to `version`; its state becomes `states.get(state, state)`.

        InvalidRequest (nothing changes) when the version does not grow, is retired, or a
        mapped state does not exist in it.
        """

        def plan(current: Instance) -> Plan:
            target = upgrade_target(self.lifecycle.engine.definitions, current, version)
            renames = Renames.checked(states, target, target.state_names)
            return Plan(upgrade=(version, renames.existing(current.state)))

        fired = self.lifecycle.transact(kind, instance_id, plan, idempotency)
        assert fired is not None
        return fired
