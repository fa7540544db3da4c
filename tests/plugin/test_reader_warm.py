"""The loader finds the series while napari's first-layer modules are warmed up.

`_reader._warm_napari` (pint's registry, pandas, skimage's colour conversions, vispy's dash
patterns: ≈ 0.5-1 s in a fresh process) runs in a thread of its own, alongside the search
for the series; only a series about to become a layer waits for it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from napari_blockplan import _reader

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


def test_the_series_are_found_while_napari_is_warmed_up(monkeypatch: pytest.MonkeyPatch) -> None:
    started, release = threading.Event(), threading.Event()

    def slow_warm_up() -> None:  # a warm-up that takes as long as the test says
        started.set()
        release.wait(30)

    monkeypatch.setattr(_reader, "_warm_napari", slow_warm_up)
    monkeypatch.setattr(_reader, "_WARMED", None)  # this process's warm-up not done yet
    state = _reader.LoadState()
    events: list[str] = []
    arrived = threading.Condition()

    def run() -> None:
        for event in _reader._study_events(state, str(SAMPLE), None, "test", False):
            with arrived:
                events.append(event[0])
                arrived.notify_all()
            if event[0] == "preview":
                state.shown.set()
                state.cancel.set()  # enough: stop before the whole series is read

    worker = threading.Thread(target=run, daemon=True)
    worker.start()

    def seen(name: str, timeout: float) -> bool:
        with arrived:
            return arrived.wait_for(lambda: name in events, timeout)

    assert seen("scanned", 30), "the series are found while the warm-up still runs"
    assert started.is_set() and not release.is_set()
    assert not seen("preview", 0.5), "no layer is made before the warm-up is done"
    release.set()
    assert seen("preview", 30)
    worker.join(30)
    assert events[:2] == ["scanned", "preview"]


def test_the_warm_up_runs_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(_reader, "_warm_napari", lambda: calls.append(1))
    monkeypatch.setattr(_reader, "_WARMED", None)
    first = _reader._warm_in_background()
    assert first.wait(10)
    assert _reader._warm_in_background() is first
    assert calls == [1]
