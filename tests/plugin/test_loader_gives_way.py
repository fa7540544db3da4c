"""The loader's threads leave the CPU and the GIL to napari's GUI thread (issue 14 point 2).

Plain threads, no Qt: the loader's worker lowers its own priority (the decoding threads it
starts inherit it) and, between images, waits while the GUI thread's pulse is late.
Checked on order and state, never on time.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest

from napari_blockplan import _reader
from napari_blockplan._reader import LoadState, _below_the_gui, _run_below_the_gui


def _priority() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_the_loader_and_the_threads_it_starts_run_below_the_gui_thread() -> None:
    gui_before = _priority()
    seen: dict[str, int] = {}

    def worker() -> None:
        _below_the_gui()
        seen["worker"] = _priority()

        def decoder() -> None:
            seen["decoder"] = _priority()

        thread = threading.Thread(target=decoder)
        thread.start()
        thread.join()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen["worker"] >= max(gui_before, _reader._WORKER_NICE)
    assert seen["decoder"] == seen["worker"]  # inherited by the threads it starts
    assert _priority() == gui_before  # the calling (GUI) thread keeps its priority


def test_the_load_runs_in_a_thread_of_its_own_below_the_gui_thread() -> None:
    """The calling thread (one of napari's pool, later running GIL-bound work such as the
    report) keeps its priority; the reading thread and the threads it starts are lower."""
    caller_before = _priority()
    seen: dict[str, int] = {}

    def read() -> str:
        seen["reader"] = _priority()
        thread = threading.Thread(target=lambda: seen.update(decoder=_priority()))
        thread.start()
        thread.join()
        return "volume"

    assert _run_below_the_gui(read) == "volume"
    assert seen["reader"] >= max(caller_before, _reader._WORKER_NICE)
    assert seen["decoder"] == seen["reader"]
    assert _priority() == caller_before


def test_what_the_load_raises_reaches_the_worker() -> None:
    def cancelled() -> None:
        raise _reader._Cancelled

    with pytest.raises(_reader._Cancelled):
        _run_below_the_gui(cancelled)


@pytest.fixture
def patient(monkeypatch: Any) -> None:
    """Only the pulse (or Cancel) ends a wait: no time limit can decide the test."""
    monkeypatch.setattr(_reader, "_GIVE_WAY_MAX_S", 1e6)
    monkeypatch.setattr(_reader, "_NO_EVENT_LOOP_S", 1e6)


def test_between_images_the_loader_waits_for_a_busy_gui_thread(patient: None) -> None:
    state = LoadState()
    state.pulse = time.perf_counter() - 0.1  # the GUI thread has not ticked for 100 ms
    order: list[str] = []

    def gui_thread_free_again() -> None:
        time.sleep(0.05)
        order.append("GUI free")
        state.pulse = time.perf_counter()

    thread = threading.Thread(target=gui_thread_free_again)
    thread.start()
    state.progress(1, 10)
    order.append("next image")
    thread.join()
    assert order == ["GUI free", "next image"]
    assert (state.done, state.total) == (1, 10)


def test_cancel_ends_the_wait(patient: None) -> None:
    state = LoadState()
    state.pulse = time.perf_counter() - 0.1
    threading.Timer(0.05, state.cancel.set).start()
    state.give_way()  # returns (the test would hang otherwise)
    assert state.cancel.is_set()


def test_no_wait_without_a_pulse_or_with_the_gui_thread_free() -> None:
    state = LoadState()
    timer = threading.Timer(5.0, state.cancel.set)  # ends a wrong wait, and fails below
    timer.start()
    try:
        state.give_way()  # no pulse yet (no event loop has run)
        state.pulse = time.perf_counter()
        state.give_way()  # the GUI thread ticked just now
        state.pulse = time.perf_counter() - 60.0
        state.give_way()  # no event loop for a minute: a script, never waited for
        assert not state.cancel.is_set()
    finally:
        timer.cancel()
