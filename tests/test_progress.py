"""The progress line replay and redrive draw on a terminal (forwarder.commands.common.Progress)."""

from __future__ import annotations

import io
import time

from forwarder.commands.common import Progress
from forwarder.commands.redrive import progress_line as redrive_line
from forwarder.commands.replay import progress_line as replay_line
from forwarder.redrive import RedriveStats
from forwarder.replay.replayer import Stats


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_line_is_redrawn_at_most_five_times_a_second_and_ended_once() -> None:
    now = [0.0]
    screen = Terminal()
    progress = Progress(screen, lambda n: f"{n} done", clock=lambda: now[0])
    for moment, count in ((0.0, 1), (0.1, 2), (0.25, 3), (0.3, 4), (0.5, 5)):
        now[0] = moment
        progress(count)
    progress.done()
    assert screen.getvalue() == "\r1 done \r3 done \r5 done \n"


def test_nothing_is_drawn_off_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(stream, lambda n: f"{n} done", clock=lambda: 100.0)
    progress(1)
    progress.done()
    assert stream.getvalue() == ""


def test_each_command_says_what_its_counters_amount_to() -> None:
    stats = Stats()
    stats.objects, stats.read = 3, 40
    stats.sent["datadog"], stats.failed["datadog"] = 30, 2
    stats.started = time.monotonic() - 2.0  # 30 sent in 2 s: 15/s, however long this test takes to get here
    assert replay_line(stats) == "3 objects · 40 events · 15 sent/s · 2 failed"
    redriven = RedriveStats()
    redriven.messages, redriven.events, redriven.deleted, redriven.rejected = 5, 7, 4, 1
    redriven.failed["newrelic"] = 2
    assert redrive_line(redriven) == "5 messages · 7 events · 4 deleted · 2 failed · 1 rejected"
