"""The SQL schema (SQLAlchemy Core). Alembic migrations under `opscore/store/migrations`
create it; `tests/store` checks that the two never drift apart."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

ID = String(128)
NAME = String(64)
PATH = String(512)  # a step inside branches: `fan_out/research/search`, `each_doc/3/summarize`

instances = Table(
    "instances",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("id", ID, primary_key=True),
    Column("machine", NAME, nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", NAME, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("name", String(200)),
    Column("agent_id", ID),
    Column("waiting_for", String(4000)),  # `|a|b|`: the agents a run's steps wait for
    Column("capabilities", JSON, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("context", JSON, nullable=False),
    Index("ix_instances_kind_created", "kind", "created_at"),
    Index("ix_instances_kind_state", "kind", "state"),
    Index("ix_instances_kind_agent", "kind", "agent_id"),
    Index("ix_instances_waiting_for", "waiting_for"),
)

capabilities = Table(
    "capabilities",
    metadata,
    Column("instance_id", ID, primary_key=True),
    Column("capability", String(64), primary_key=True),
    Index("ix_capabilities_capability", "capability"),
)

# Every committed transition, in commit order (`gid`): the per-instance history (capped)
# and the feed live streams follow.
transitions = Table(
    "transitions",
    metadata,
    Column(
        "gid", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("instance_id", ID, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("agent_id", ID),
    Column("machine", NAME, nullable=False),
    Column("version", Integer, nullable=False),
    Column("seq", Integer),  # NULL for feed-only entries (step attempts)
    Column("event", String(80), nullable=False),
    Column("source", PATH, nullable=False),  # a feed note's is the step's path
    Column("dest", PATH, nullable=False),
    Column("at", Float, nullable=False),
    Column("data", JSON, nullable=False),
    UniqueConstraint("instance_id", "seq", name="uq_transitions_instance_seq"),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", JSON),
    Column("headers", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_idempotency_created", "created_at"),
)

# Queued steps, retries and timers. A claimed row carries a lease; when the lease runs
# out (its worker died) the row is claimed again and `deliveries` tells the runner so.
work = Table(
    "work",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("kind", String(16), nullable=False),
    Column("run_id", ID, nullable=False),
    Column("step", PATH, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("due", Float, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", Float),
    Column("deliveries", Integer, nullable=False, default=0),
    Index("ix_work_due", "due"),
)

# Agents' heartbeats: when each was last seen, when its silence becomes a miss (`due`), and
# which silence was already reported (`missed`, the `last_seen` it was reported for).
heartbeats = Table(
    "heartbeats",
    metadata,
    Column("agent_id", ID, primary_key=True),
    Column("last_seen", Float, nullable=False),
    Column("due", Float),
    Column("missed", Float),
    Index("ix_heartbeats_due", "due"),
)

# Failed authentications per client address (store/brake.py): how many in the window
# opened at `opened`, so every process's brake counts the same failures.
failed_keys = Table(
    "failed_keys",
    metadata,
    Column("client", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("opened", Float, nullable=False),
    Index("ix_failed_keys_opened", "opened"),
)

# Push to agents (opscore/push): an agent's endpoint and signing secret, each task's
# delivery, and the AgentKit webhook receipts that tell a replay from a new request.
push_targets = Table(
    "push_targets",
    metadata,
    Column("agent_id", ID, primary_key=True),
    Column("endpoint", String(2048), nullable=False),
    Column("secret", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
)

push_deliveries = Table(
    "push_deliveries",
    metadata,
    Column("task_id", String(256), primary_key=True),
    Column("run_id", ID, nullable=False),
    Column("step", PATH, nullable=False),
    Column("agent_id", ID, nullable=False),
    Column("endpoint", String(2048), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(1000)),
    Column("updated_at", Float, nullable=False),
    Index("ix_push_deliveries_status_updated", "status", "updated_at"),
    Index("ix_push_deliveries_updated", "updated_at"),
)

webhook_receipts = Table(
    "webhook_receipts",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("until", Float, nullable=False),
    Index("ix_webhook_receipts_until", "until"),
)

# Definitions every process serves (see store/definitions.py), and the one-row generation
# number each change raises.
definitions = Table(
    "definitions",
    metadata,
    Column("name", NAME, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("file", String(1000), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("retired", Boolean, nullable=False, default=False),
)

definition_generation = Table(
    "definition_generation",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("generation", BigInteger, nullable=False),
)
