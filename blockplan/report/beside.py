"""A report's pictures computed in a second process beside the build.

The first build of a case computes its pictures: for 11 planned targets, 22 C-arm
previews (a DRR and its drawing each) — some 40 % of the build — and the automatic level
count (`benchmarks/report_build.py`). Each is numpy work of many small steps, each taking
Python's GIL: in a thread beside the build it gains nothing (the two wait for each other;
RESULTS.md). In a second process it runs on the machine's other CPU.

So, on Linux, in a process that runs no other thread (the command line, a script — the
napari plugin computes the pictures ahead in a worker instead, `prepare_report`), with at
least two CPUs, `build_report` forks a helper at its start (`pictures_beside`). The build
hands it a list of jobs — each a key and what computes it, the very function the build
would call — and the order the helper takes them in: the level count first, then the
targets' previews from the last one backwards, while the build makes the rest of the
report from the front. When the build comes to a job (`taken_beside`), it takes the
helper's result (waiting for it if the helper is working on it) or, for a job the helper
has not begun, computes it itself: the two share the jobs and meet in the middle. A
result is the same either way (the same code on the same arrays): the report's bytes do
not change.

The helper reads the parent's memory as it was at the fork (copy-on-write: no copy of the
CT), writes nothing but its pipe and a box of memory the two share, ignores Ctrl+C (the
build ends it) and is ended and reaped before `build_report` returns, whatever happens.
Anything unexpected — the fork refused, the helper killed, an error in it, a result that
does not read, a helper silent for `PATIENCE_S` — and the build computes those jobs
itself: the helper only ever saves time.

Decision support, not a medical device.
"""

from __future__ import annotations

import contextlib
import contextvars
import mmap
import os
import pickle
import select
import signal
import struct
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = [
    "PATIENCE_S",
    "Job",
    "PicturesBeside",
    "helper_allowed",
    "helper_counts",
    "pictures_beside",
    "taken_beside",
]

Job = tuple[str, Callable[[], Any]]
"""A key and what computes its result (a picture, or a tuple of them)."""

_FREE, _HELPER, _BUILD = 0, 1, 2
"""Who computes a job (one byte per job in memory both processes see)."""

_NOTE = struct.Struct("<iQQ")
"""The helper's note through the pipe: the job's index (−1: the helper is done), where its
result lies in the shared box and its length (0: the build computes it)."""

_BOX_PER_JOB = 16 << 20
"""Room in the shared box per job (a target's two previews at 512 px take about 3.5 MiB
pickled; at the report's 256 px, 0.9 MiB). Anonymous memory is only used as it is
written: the room costs nothing until then."""

PATIENCE_S = 30.0
"""How long the build waits for the helper's next note before it ends the helper and
computes the rest itself (a helper stuck for any reason never hangs a build)."""

_current: contextvars.ContextVar[PicturesBeside | None] = contextvars.ContextVar(
    "blockplan_pictures_beside", default=None
)


def helper_allowed() -> bool:
    """Whether this process may fork a helper: Linux (``fork`` is its way of starting a
    process; elsewhere it is unsafe or missing), no other Python thread running (a forked
    child keeps only the forking thread: a lock another thread held would never be
    released in it), and at least two CPUs this process may run on."""
    if not sys.platform.startswith("linux") or threading.active_count() != 1:
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
    except OSError:
        return False
    return cpus >= 2


class PicturesBeside:
    """A forked helper computing ``jobs`` in the order ``helper_order`` (indices into
    ``jobs``), while the build takes them as it needs them (`take`).

    The helper puts each result (pickled) in a box of memory both processes share and
    notes where through a pipe: the pipe carries a few bytes per job, so the helper never
    waits for the build to read it.
    """

    def __init__(self, jobs: Sequence[Job], helper_order: Sequence[int]) -> None:
        self._index = {key: i for i, (key, _) in enumerate(jobs)}
        count = max(len(jobs), 1)
        self._claims = mmap.mmap(-1, count)
        self._box = mmap.mmap(-1, _BOX_PER_JOB * count)
        self._received: dict[int, tuple[int, int]] = {}
        self._buffer = b""
        self._ended = False
        self.taken = 0
        """Jobs whose results the build took from the helper."""
        read, write = os.pipe()
        try:
            with warnings.catch_warnings():
                # Python ≥ 3.12 warns of fork in a process with threads: numpy's BLAS
                # threads count; they re-form in the child (pthread_atfork), which uses
                # none of them
                warnings.filterwarnings("ignore", ".*fork.*", DeprecationWarning)
                self._pid = os.fork()
        except OSError:
            for fd in (read, write):
                os.close(fd)
            self._claims.close()
            self._box.close()
            raise
        if self._pid == 0:  # the helper
            os.close(read)
            _helper(jobs, helper_order, self._claims, self._box, write)  # never returns
        os.close(write)
        self._read = read

    @property
    def pid(self) -> int:
        """The helper's process id."""
        return self._pid

    def take(self, key: str) -> Any | None:
        """The helper's result of a job, waiting for it if it is computing it; None when
        the build should compute it itself (the helper has not begun it, or failed)."""
        i = self._index.get(key)
        if i is None:
            return None
        if self._claims[i] == _FREE:
            self._claims[i] = _BUILD  # the helper will not begin it (or both compute it)
            return None
        while i not in self._received and not self._ended:
            self._read_note()
        where = self._received.pop(i, None)
        if where is None or where[1] == 0:
            return None
        offset, length = where
        try:
            found = pickle.loads(self._box[offset : offset + length])
        except Exception:  # a result that does not read: the build computes it
            return None
        self.taken += 1
        return found

    def _read_note(self) -> None:
        """Read the helper's next note (waiting for it, at most `PATIENCE_S`); on EOF —
        the helper ended or was killed —, a helper silent that long, or a note that makes
        no sense, read no more (the build computes what is left)."""
        poll = select.poll()
        poll.register(self._read, select.POLLIN)
        while len(self._buffer) < _NOTE.size:
            try:
                ready = poll.poll(int(PATIENCE_S * 1000))
                chunk = os.read(self._read, 4096) if ready else b""
            except OSError:
                chunk = b""
            if not chunk:  # the helper ended, was killed, or is stuck: read no more
                self._ended = True
                return
            self._buffer += chunk
        index, offset, length = _NOTE.unpack(self._buffer[: _NOTE.size])
        self._buffer = self._buffer[_NOTE.size :]
        if index < 0 or index >= len(self._index) or offset + length > len(self._box):
            self._ended = True
            return
        self._received[index] = (offset, length)

    def close(self) -> None:
        """End the helper (killed if it still runs) and reap it; let go of the pipe and the
        shared memory."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self._pid, 0)
        os.close(self._read)
        self._claims.close()
        self._box.close()


def _helper(
    jobs: Sequence[Job],
    order: Sequence[int],
    claims: mmap.mmap,
    box: mmap.mmap,
    write: int,
) -> None:
    """The helper's whole life: the jobs in its order, each unless the build took it
    first; then it exits at once, running none of the parent's exit code (no atexit
    handler, no buffered output flushed twice)."""
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        offset = 0
        for i in order:
            if claims[i] != _FREE:
                continue  # the build's own
            claims[i] = _HELPER
            try:
                payload = pickle.dumps(jobs[i][1](), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # the build computes it, and says the error if there is one
                payload = b""
            if offset + len(payload) > len(box):
                payload = b""
            box[offset : offset + len(payload)] = payload
            os.write(write, _NOTE.pack(i, offset, len(payload)))
            offset += len(payload)
        os.write(write, _NOTE.pack(-1, 0, 0))
    except BaseException:  # whatever happens, never return into the build
        status = 1
    finally:
        os._exit(status)


_started = [0]
_taken = [0]


@contextlib.contextmanager
def pictures_beside(
    jobs: Sequence[Job], helper_order: Sequence[int] | None = None, *, worth: bool = True
) -> Iterator[None]:
    """A helper computing ``jobs`` for the build in the ``with`` block (the build takes
    them with `taken_beside`), in ``helper_order`` (default: from the last job backwards),
    when ``worth`` it — enough work to share — and this process may fork one
    (`helper_allowed`); otherwise nothing (the build computes them all)."""
    helper: PicturesBeside | None = None
    if jobs and worth and helper_allowed():
        order = range(len(jobs) - 1, -1, -1) if helper_order is None else helper_order
        with contextlib.suppress(OSError):  # e.g. no memory for a process: no helper
            helper = PicturesBeside(jobs, list(order))
            _started[0] += 1
    token = _current.set(helper)
    try:
        yield
    finally:
        _current.reset(token)
        if helper is not None:
            helper.close()
            _taken[0] += helper.taken


def helper_counts() -> tuple[int, int]:
    """How many helpers this process started, and how many jobs builds took from them
    (for tests and benchmarks)."""
    return _started[0], _taken[0]


def taken_beside(key: str) -> Any | None:
    """The result the current build's helper computed for the job ``key``, or None (no
    helper, or the build computes it itself)."""
    helper = _current.get()
    return None if helper is None else helper.take(key)
