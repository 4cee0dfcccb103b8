"""Workflow templates as data: durations, references, choice rules, retry policies."""
