"""Replay at scale: a Step Functions Distributed Map over the archive, started and watched from the CLI.

- ``batch``: one Distributed Map batch replayed by the worker Lambda (``forwarder.replay_worker``),
  the only place that calls replay's core;
- ``checkpoint``: the per-run checkpoint in S3 that lets a retried or redriven batch skip what it
  finished;
- ``definition``: the state machine, generated here (``infra/modules/replay-at-scale``);
- ``request`` and ``runs``: the CLI's side (``replay --on stepfunctions``): what to start, and
  starting, attaching to, watching, updating and stopping a run.
"""
