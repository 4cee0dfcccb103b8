"""Moving an instance to a newer version of its machine, renamed states mapped, recorded in
its history as an `(upgrade)` transition (a name no event can have)."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import InvalidRequest
from ..model import Instance
from .lifecycle import UPGRADE_EVENT, Fired, Lifecycle, Plan

__all__ = ["UPGRADE_EVENT", "Upgrades"]


class Upgrades:
    """Upgrades of agents (and, later, of other kinds) through the lifecycle."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle

    def upgrade(
        self, kind: str, instance_id: str, version: int, states: Mapping[str, str]
    ) -> Fired:
        """Move the instance to `version`; its state becomes `states.get(state, state)`.

        InvalidRequest (nothing changes) when the version does not grow, is retired, or a
        mapped state does not exist in it.
        """

        def plan(current: Instance) -> Plan:
            return Plan(upgrade=(version, self._state_in(current, version, states)))

        fired = self.lifecycle.transact(kind, instance_id, plan)
        assert fired is not None
        return fired

    def _state_in(self, current: Instance, version: int, states: Mapping[str, str]) -> str:
        definitions = self.lifecycle.engine.definitions
        target = definitions.get(current.machine, version)  # MachineNotFound: a 404
        name = f"'{current.machine}'"
        if version <= current.version:
            raise InvalidRequest(
                f"{current.kind} '{current.id}' is on {name} version {current.version}; "
                "an upgrade moves to a newer one",
                "version",
            )
        if definitions.is_retired(current.machine, version):
            raise InvalidRequest(f"{name} version {version} is retired", "version")
        for old, new in sorted(states.items()):
            if new not in target.state_names:
                raise InvalidRequest(
                    f"state '{new}' (for '{old}') does not exist in {name} version {version}",
                    "states",
                )
        state = states.get(current.state, current.state)
        if state not in target.state_names:
            raise InvalidRequest(
                f"state '{state}' does not exist in {name} version {version}; "
                f"map it with states: {{{current.state}: ...}}",
                "states",
            )
        return state
