"""A first build's pictures (C-arm previews, level count) computed by a forked helper
beside the build (`blockplan.report.beside`): the same bytes as without it, a helper that
dies, fails or stalls never costs the report, and no helper outlives the build."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

import pytest

from blockplan.case.model import Case
from blockplan.io.volume import ImageVolume
from blockplan.report import ReportOptions, build_report
from blockplan.report import beside as bs
from blockplan.report.memo import report_memo
from tests.report import _factory

_KEYS = [f"t{i}" for i in range(4)]


def _waited_for(helper: bs.PicturesBeside, index: int, state: int) -> None:
    """Wait until the helper has claimed target ``index`` (it starts from the last)."""
    deadline = time.monotonic() + 30
    while helper._claims[index] != state:
        assert time.monotonic() < deadline, "the helper never began"
        time.sleep(0.005)


def _reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def _helper(compute: Callable[[str], object]) -> bs.PicturesBeside:
    """A helper computing ``compute(key)`` for the four keys, from the last backwards."""
    jobs = [(key, lambda key=key: compute(key)) for key in _KEYS]
    return bs.PicturesBeside(jobs, [3, 2, 1, 0])


def test_the_helper_computes_from_the_last_target_and_the_build_takes_them() -> None:
    parent = os.getpid()
    helper = _helper(lambda key: ("computed in", os.getpid(), key))
    try:
        _waited_for(helper, 3, bs._HELPER)
        taken = helper.take("t3")
        assert taken is not None and taken[0] == "computed in"
        assert taken[1] != parent and taken[2] == "t3"  # by the helper, for that target
        assert helper.taken == 1
    finally:
        helper.close()
    assert _reaped(helper.pid)


def test_a_target_the_helper_has_not_begun_is_the_builds_own() -> None:
    helper = _helper(lambda key: time.sleep(0.5) or key)  # a slow helper
    try:
        _waited_for(helper, 3, bs._HELPER)
        assert helper.take("t0") is None  # free: the build claims it and computes it
        assert helper._claims[0] == bs._BUILD
        assert helper.take("t3") == "t3"
        assert helper.take("unknown") is None
    finally:
        helper.close()
    assert _reaped(helper.pid)


def test_a_helper_killed_mid_way_leaves_the_target_to_the_build() -> None:
    parent = os.getpid()

    def dies(key: str) -> str:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return key

    helper = _helper(dies)
    try:
        _waited_for(helper, 3, bs._HELPER)
        started = time.monotonic()
        assert helper.take("t3") is None  # the pipe's end says it: no waiting out patience
        assert time.monotonic() - started < bs.PATIENCE_S
        assert helper.take("t2") is None  # nothing more from it
    finally:
        helper.close()
    assert _reaped(helper.pid)


def test_an_error_in_the_helper_leaves_the_target_to_the_build() -> None:
    def fails(key: str) -> str:
        raise RuntimeError("no")

    helper = _helper(fails)
    try:
        _waited_for(helper, 3, bs._HELPER)
        assert helper.take("t3") is None
        assert helper.taken == 0
    finally:
        helper.close()


def test_a_stalled_helper_is_given_up_after_patience_and_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bs, "PATIENCE_S", 0.3)
    helper = _helper(lambda key: time.sleep(3600))
    try:
        _waited_for(helper, 3, bs._HELPER)
        assert helper.take("t3") is None
    finally:
        helper.close()  # kills it: the test does not wait an hour
    assert _reaped(helper.pid)


def test_no_helper_while_another_thread_runs() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not bs.helper_allowed()
    finally:
        stop.set()
        other.join()


def _cold(case: Case, vols: list[ImageVolume], options: ReportOptions) -> bytes:
    report_memo.clear()
    try:
        return build_report(case, volumes=vols, options=options)
    finally:
        report_memo.clear()


def test_a_first_build_with_a_helper_gives_the_same_report(
    ct: ImageVolume, mr: ImageVolume, options: ReportOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = _factory.make_case(6, 2, volume=ct)
    monkeypatch.setattr(bs, "helper_allowed", lambda: False)
    started = bs.helper_counts()[0]
    alone = _cold(case, [ct, mr], options)
    assert bs.helper_counts()[0] == started
    monkeypatch.setattr(bs, "helper_allowed", lambda: True)
    shared = _cold(case, [ct, mr], options)
    assert bs.helper_counts()[0] == started + 1
    assert shared == alone
    # a helper that dies at its first target: the build computes them all, same bytes
    parent = os.getpid()
    from blockplan.report import fluoro

    real = fluoro._compute_previews

    def dies_in_helper(*args: object) -> object:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(fluoro, "_compute_previews", dies_in_helper)
    assert _cold(case, [ct, mr], options) == alone


def test_no_helper_when_the_drrs_are_kept_or_there_is_one_target(
    ct: ImageVolume, options: ReportOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bs, "helper_allowed", lambda: True)
    case = _factory.make_case(3, 1, volume=ct)
    report_memo.clear()
    before = bs.helper_counts()[0]
    build_report(case, volumes=[ct], options=options)
    started = bs.helper_counts()[0]
    assert started == before + 1  # the first build: three targets' previews to compute
    # an edit that moves no needle: its DRRs are kept, drawing them again is quick
    note = case.procedures[0].model_copy(update={"notes": "diary checked by phone"})
    build_report(case.replace_item("procedures", note), volumes=[ct], options=options)
    assert bs.helper_counts()[0] == started
    report_memo.clear()
    build_report(_factory.make_case(1, 1, volume=ct), volumes=[ct], options=options)
    assert bs.helper_counts()[0] == started
    report_memo.clear()


def test_the_helper_takes_the_jobs_in_its_own_order() -> None:
    # the level count first (the build needs it soon), then previews from the last
    jobs = [(key, lambda key=key: key) for key in ("p0", "p1", "p2", "levels")]
    order = [3, 2, 1, 0]
    helper = bs.PicturesBeside(jobs, order)
    try:
        _waited_for(helper, 3, bs._HELPER)  # "levels", the last job, is the helper's first
        assert helper.take("levels") == "levels"
    finally:
        helper.close()
    jobs_first = [(key, lambda key=key: time.sleep(0.2) or key) for key in ("a", "b", "c")]
    helper = bs.PicturesBeside(jobs_first, [1, 0, 2])
    try:
        _waited_for(helper, 1, bs._HELPER)
        assert helper._claims[0] == bs._FREE and helper._claims[2] == bs._FREE
        assert helper.take("b") == "b"
    finally:
        helper.close()


def test_a_build_interrupted_ends_and_reaps_its_helper(
    ct: ImageVolume, options: ReportOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl+C (or any error) in the build: the helper is ended and reaped, no process left."""
    from blockplan.report import sections

    monkeypatch.setattr(bs, "helper_allowed", lambda: True)
    pids: list[int] = []
    real_init = bs.PicturesBeside.__init__

    def recording(self: bs.PicturesBeside, *args: object) -> None:
        real_init(self, *args)  # type: ignore[arg-type]
        pids.append(self.pid)  # the parent only: the helper never returns from __init__

    def interrupted(ctx: object) -> list[object]:
        raise KeyboardInterrupt

    monkeypatch.setattr(bs.PicturesBeside, "__init__", recording)
    monkeypatch.setattr(sections, "diaries", interrupted)
    case = _factory.make_case(3, 1, volume=ct)
    report_memo.clear()
    try:
        with pytest.raises(KeyboardInterrupt):
            build_report(case, volumes=[ct], options=options)
    finally:
        report_memo.clear()
    assert len(pids) == 1 and _reaped(pids[0])
