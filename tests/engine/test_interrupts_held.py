"""interrupts_held: a stop waits for the block (ending Ray) to finish; a second one does not."""

from __future__ import annotations

import os
import signal

import pytest

from searcher.engine.session import STOP_SIGNALS, interrupts_held


def _stop(sig: int = signal.SIGINT) -> None:
    """Signal this process; the handler runs at the next bytecode, in this (main) thread."""
    os.kill(os.getpid(), sig)
    for _ in range(1000):  # give the interpreter bytecodes to run the handler on
        pass


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_inside_is_raised_when_the_block_ends(sig: int) -> None:
    before = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    steps = []
    with pytest.raises(KeyboardInterrupt), interrupts_held():
        _stop(sig)
        steps.append("after the stop")
    assert steps == ["after the stop"]
    assert {s: signal.getsignal(s) for s in before} == before


def test_a_second_stop_inside_raises_at_once() -> None:
    before = signal.getsignal(signal.SIGINT)  # Tune leaves its own after an in-process search
    steps = []
    with pytest.raises(KeyboardInterrupt), interrupts_held():
        _stop()
        steps.append("after the first")
        _stop()
        steps.append("after the second")
    assert steps == ["after the first"]
    assert signal.getsignal(signal.SIGINT) is before


def test_an_error_inside_is_raised_as_itself() -> None:
    with pytest.raises(RuntimeError, match="broke"), interrupts_held():
        _stop()
        raise RuntimeError("broke")


def test_without_a_stop_nothing_is_raised() -> None:
    with interrupts_held():
        done = True
    assert done
