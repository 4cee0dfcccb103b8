"""Prometheus metrics: what the engine, the runs, the queue and the HTTP API count and time.

With several gunicorn processes the values are kept in prometheus-client's multiprocess
files (`PROMETHEUS_MULTIPROC_DIR`, set by `opscore.gunicorn_conf` before anything imports
prometheus-client) and summed when `/metrics` is scraped; the queue depth is read from the
store at scrape time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

TIME_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    300,
    1800,
)

transitions = Counter("opscore_transitions", "Committed transitions.", ["kind", "machine", "event"])
rejected_events = Counter(
    "opscore_events_rejected", "Events refused, changing nothing.", ["kind", "machine", "reason"]
)
runs_finished = Counter("opscore_runs_finished", "Runs that ended.", ["workflow", "outcome"])
step_duration = Histogram(
    "opscore_step_duration_seconds",
    "Step attempts, start to end.",
    ["workflow", "step", "outcome"],
    buckets=TIME_BUCKETS,
)
step_retries = Counter(
    "opscore_step_retries", "Step attempts retried.", ["workflow", "step", "error"]
)
queue_wait = Histogram(
    "opscore_queue_wait_seconds",
    "Time from due to claimed, per work kind.",
    ["kind"],
    buckets=TIME_BUCKETS,
)
store_group_writes = Histogram(
    "opscore_store_group_writes",
    "Writes committed together in one SQLite transaction (group commit).",
    buckets=(1, 3, 7, 15, 31, 63, 127, 255),  # "at most 2**k - 1" writes
)
http_requests = Counter(
    "opscore_http_requests", "HTTP requests answered.", ["route", "method", "status"]
)
http_latency = Histogram(
    "opscore_http_request_duration_seconds",
    "HTTP request latency.",
    ["route", "method"],
    buckets=TIME_BUCKETS,
)


@lru_cache(maxsize=8192)
def child(metric: Any, *labels: str) -> Any:
    """The metric's child for `labels`, looked up once (`labels()` is slow on a hot path)."""
    return metric.labels(*labels)


class QueueDepth:
    """Reads the work queue's depth when scraped (it is shared state, not a counter)."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauge family Prometheus asks for."""
        depth = GaugeMetricFamily("opscore_queue_depth", "Work items due and not yet claimed.")
        depth.add_metric([], float(self.queue.depth()))
        yield depth


def exposition(queue: Any) -> tuple[bytes, str]:
    """The text of every metric (summed over processes when there are several)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    shared = CollectorRegistry()
    shared.register(QueueDepth(queue))
    return generate_latest(counted) + generate_latest(shared), CONTENT_TYPE_LATEST


def process_exited(pid: int) -> None:
    """Forget a dead gunicorn process's live values (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
