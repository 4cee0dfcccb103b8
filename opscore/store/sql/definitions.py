"""Definitions in the SQL store: one row per version, and one generation row that every
change raises in its own transaction (the row lock orders concurrent writers)."""

from __future__ import annotations

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..definitions import StoredDefinition
from .engine import reading, writing
from .schema import definition_generation, definitions


class SqlDefinitionStore:
    """Stored definitions shared by every process on the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def generation(self) -> int:
        """A number that grows with every change."""
        with reading(self.engine) as conn:
            return conn.execute(select(definition_generation.c.generation)).scalar_one()

    def stored(self) -> list[StoredDefinition]:
        """Every stored version, by name then version."""
        query = select(definitions).order_by(definitions.c.name, definitions.c.version)
        with reading(self.engine) as conn:
            return [_stored(row) for row in conn.execute(query).mappings()]

    def put(self, definition: StoredDefinition) -> StoredDefinition:
        """Keep `definition` unless its (name, version) is stored; returns the stored one."""
        try:
            with writing(self.engine) as conn:
                known = self._find(conn, definition.name, definition.version)
                if known is not None:
                    return known
                conn.execute(insert(definitions).values(**_row(definition)))
                _raise_generation(conn)
                return definition
        except IntegrityError:  # another process stored the same version first
            with reading(self.engine) as conn:
                known = self._find(conn, definition.name, definition.version)
            if known is None:
                raise
            return known

    def retire(self, name: str, version: int) -> StoredDefinition | None:
        """Mark a stored version retired; None when it is not stored."""
        with writing(self.engine) as conn:
            known = self._find(conn, name, version)
            if known is None or known.retired:
                return known
            conn.execute(
                update(definitions)
                .where(definitions.c.name == name, definitions.c.version == version)
                .values(retired=True)
            )
            _raise_generation(conn)
        return self._find_now(name, version)

    def _find_now(self, name: str, version: int) -> StoredDefinition | None:
        with reading(self.engine) as conn:
            return self._find(conn, name, version)

    @staticmethod
    def _find(conn: object, name: str, version: int) -> StoredDefinition | None:
        query = select(definitions).where(
            definitions.c.name == name, definitions.c.version == version
        )
        row = conn.execute(query).mappings().first()  # type: ignore[attr-defined]
        return None if row is None else _stored(row)


def _raise_generation(conn: object) -> None:
    conn.execute(  # type: ignore[attr-defined]
        update(definition_generation).values(generation=definition_generation.c.generation + 1)
    )


def _row(definition: StoredDefinition) -> dict:
    return {
        "name": definition.name,
        "version": definition.version,
        "kind": definition.kind,
        "content_hash": definition.content_hash,
        "text": definition.text,
        "file": definition.file,
        "created_at": definition.created_at,
        "retired": definition.retired,
    }


def _stored(row: object) -> StoredDefinition:
    return StoredDefinition(**{key: row[key] for key in _COLUMNS})  # type: ignore[index]


_COLUMNS = ("name", "version", "kind", "content_hash", "text", "file", "created_at", "retired")
