"""Workflow templates with parallel, map and child workflow steps, for the runs suites.

`EACH` and `CHILD` name their task `{task}`: fill it in with `.replace("{task}", ...)`.
"""

FAN_OUT = """
kind: workflow
name: fan
version: 1
start: prep
steps:
  prep: {task: noop, params: {topic: $.input.topic}, next: fan_out}
  fan_out:
    parallel:
      branches:
        research:
          start: search
          steps:
            search:
              task: counted
              params: {q: $.input.topic, seen: $.steps.prep.output.topic}
              next: rank
            rank: {task: noop, params: {from: $.steps.search.output.q}, next: succeeded}
        outline:
          start: draft
          steps:
            draft: {task: log, params: {message: "outline {$.input.topic}"}, next: succeeded}
    next: done
  done: {task: noop, params: {all: $.steps.fan_out.output}, next: succeeded}
"""

EACH = """
kind: workflow
name: each
version: 1
start: each_doc
steps:
  each_doc:
    map:
      items: $.input.docs
      max_concurrency: 2
      start: summarize
      steps:
        summarize: {task: {task}, params: {doc: $.item, position: $.index}, next: succeeded}
    next: succeeded
"""

PARENT = """
kind: workflow
name: parent
version: 1
start: child
steps:
  child: {workflow: child_flow, input: {n: $.input.n}, next: succeeded}
"""
CHILD = """
kind: workflow
name: child_flow
version: 1
input: {type: object, required: [n]}
start: work
steps:
  work: {task: {task}, params: {n: $.input.n}, next: succeeded}
"""
