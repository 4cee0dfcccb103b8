"""The HTTP baseline: a bare Flask endpoint that parses the same JSON and answers a body of
about the same size, with none of Ops-Core behind it. Served with Ops-Core's processes and
threads, on gunicorn's stock gthread worker (front.py measures Ops-Core's own worker against
that one)."""

from __future__ import annotations

import time

from flask import Flask, jsonify, request

app = Flask("bare")


@app.post("/v1/agents/<agent_id>/events")
def fire(agent_id: str):
    body = request.get_json()
    now = time.time()
    agent = {
        "id": agent_id,
        "name": None,
        "machine": {"name": "agent", "version": 1},
        "state": "active",
        "allowed_events": ["complete", "pause", "fail", "terminate"],
        "capabilities": [],
        "metadata": {},
        "context": {},
        "created_at": now,
        "updated_at": now,
        "revision": 2,
    }
    transition = {
        "seq": 1,
        "event": body["event"],
        "source": "idle",
        "dest": "active",
        "at": now,
        "data": body.get("data", {}),
    }
    return jsonify({"agent": agent, "transition": transition})


@app.get("/health")
def health():
    return {"status": "ok"}
