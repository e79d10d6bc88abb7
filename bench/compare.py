"""Replay before and after a change, in the same run: ``python bench/compare.py REV [RUNS]``.

The working tree's code ("after") against ``REV``'s ("before", checked out into a temporary
git worktree), on the same archives, interleaved (before, after, before, ...) with the
one-per-request baseline after each pair: this VM's speed drifts between minutes, so a
comparison made minutes apart says little. The archives are ``bench.replay``'s: the mixed one
(100k: half Firehose objects of 500, half archive documents) and a new user's Firehose backup
(objects of 1,000 real-looking stops, 10k and 100k). Each replay runs the console script from a
directory holding neither tree, so ``PYTHONPATH`` decides which code runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import replay
from bench.common import FIXTURES, ROOT

ARCHIVES = ("mixed 100k", "Firehose 10k", "Firehose 100k")


def _line(name: str, tree: str, runs: list[dict[str, float]], baseline: float) -> str:
    cpu = [r["cpu"] / r["events"] * 1e6 for r in runs]
    rate = [r["events"] / r["wall"] for r in runs]
    rss = [r["rss_mb"] for r in runs]
    return (
        f"| {name} | {tree} | {min(cpu):.1f}-{max(cpu):.1f} µs | {min(rate):,.0f}-{max(rate):,.0f} events/s "
        f"({min(rate) / baseline:.1f}-{max(rate) / baseline:.1f}x) | {min(rss):.1f}-{max(rss):.1f} MB |"
    )


def main(before: str, runs: int) -> int:
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    baselines: list[float] = []
    server, url = replay._serve(0.0)
    with tempfile.TemporaryDirectory() as scratch:
        old = Path(scratch) / "before"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(old), before], check=True
        )
        try:
            folders = {name: Path(scratch) / name.replace(" ", "-") for name in ARCHIVES}
            replay.build_archive(folders["mixed 100k"], 100_000)
            replay.build_real_firehose(folders["Firehose 10k"], 10_000)
            replay.build_real_firehose(folders["Firehose 100k"], 100_000)
            trees = {"before": old, "after": ROOT}
            with _elsewhere(scratch):
                for root in trees.values():  # each tree's bytecode written before anything is timed
                    replay.replay_process(FIXTURES, url, root=root)
                for _ in range(runs):
                    for name, folder in folders.items():
                        for tree, root in trees.items():
                            run = replay.replay_process(folder, url, root=root)
                            results.setdefault((name, tree), []).append(run)
                    baselines.append(replay.one_per_request(url, 2000))
        finally:
            server.shutdown()
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
    baseline = max(baselines)
    print(f"before: {before}; after: the working tree; {runs} interleaved runs of each; one-per-request "
          f"baseline {min(baselines):,.0f}-{baseline:,.0f} events/s (ratios to the fastest)\n")  # fmt: skip
    print("| archive | code | CPU per event | wall rate | peak RSS |")
    print("|---|---|---|---|---|")
    for name in ARCHIVES:
        for tree in ("before", "after"):
            print(_line(name, tree, results[(name, tree)], baseline))
    return 0


@contextmanager
def _elsewhere(scratch: str) -> Iterator[None]:
    """Run from ``scratch``: a ``python -c`` puts the current directory first on its path, and it
    must hold neither tree."""
    here = Path.cwd()
    os.chdir(scratch)
    try:
        yield
    finally:
        os.chdir(here)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3))
