"""The C-arm previews of a report computed in a second process beside the build.

The first build of a case computes the C-arm previews of its planned targets — for 11
targets, 22 DRRs and their drawing, some 40 % of the build (`benchmarks/report_build.py`).
Each is numpy work of many small steps, each taking Python's GIL: in a thread beside the
build it gains nothing (the two wait for each other; RESULTS.md). In a second process it
runs on the machine's other CPU.

So, on Linux, in a process that runs no other thread (the command line, a script — the
napari plugin computes the previews ahead in a worker instead, `prepare_report`), with
at least two CPUs, `build_report` forks a helper at its start. The helper computes the
previews of the targets from the last one backwards and sends each target's previews back
through a pipe, while the build makes the rest of the report; when the build comes to a
target's previews, it takes the helper's (waiting for them if the helper is working on
that target) or, for a target the helper has not begun, computes them itself — the two
meet in the middle. The previews are the same arrays either way (the same code on the same
arrays, `blockplan.report.fluoro`): the report's bytes do not change.

The helper reads the parent's memory as it was at the fork (copy-on-write: no copy of the
CT), writes nothing but its pipe, ignores Ctrl+C (the build ends it) and is ended and
reaped before `build_report` returns, whatever happens. Anything unexpected — the fork
refused, the helper killed, an error in it, a message that does not read — and the build
computes those previews itself: the helper only ever saves time.

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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from blockplan.case.model import Target
    from blockplan.fluoro.preview import FluoroPreview

__all__ = [
    "PATIENCE_S",
    "PreviewsBeside",
    "helper_allowed",
    "helper_counts",
    "previews_beside",
    "taken_beside",
]

_FREE, _HELPER, _BUILD = 0, 1, 2
"""Who computes a target's previews (one byte per target in memory both processes see)."""

_NOTE = struct.Struct("<iQQ")
"""The helper's note through the pipe: the target's index (−1: the helper is done), where
its previews lie in the shared box and their length (0: the build computes them)."""

_BOX_PER_TARGET = 16 << 20
"""Room in the shared box per target (a target's two previews at 512 px take about
3.5 MiB pickled; at the report's 256 px, 0.9 MiB). Anonymous memory is only used as it is
written: the room costs nothing until then."""

PATIENCE_S = 30.0
"""How long the build waits for the helper's next note before it ends the helper and
computes the rest itself (a helper stuck for any reason never hangs a build)."""

_current: contextvars.ContextVar[PreviewsBeside | None] = contextvars.ContextVar(
    "blockplan_previews_beside", default=None
)


def helper_allowed() -> bool:
    """Whether this process may fork a helper: Linux (``fork`` is its way of starting a
    process; elsewhere it is unsafe or missing), no other thread running (a forked child
    keeps only the forking thread: a lock another thread held would never be released in
    it), and at least two CPUs this process may run on."""
    if not sys.platform.startswith("linux") or threading.active_count() != 1:
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
    except OSError:
        return False
    return cpus >= 2


class PreviewsBeside:
    """A forked helper computing the previews of ``targets`` from the last one backwards.

    ``compute(target)`` is what the build itself would call for a target's previews; the
    helper calls the same function on the same data. It puts each target's previews
    (pickled) in a box of memory both processes share and notes where through a pipe:
    the pipe carries a few bytes per target, so the helper never waits for the build to
    read it.
    """

    def __init__(
        self,
        targets: Sequence[Target],
        compute: Callable[[Target], tuple[FluoroPreview, ...]],
    ) -> None:
        self._index = {t.id: i for i, t in enumerate(targets)}
        self._claims = mmap.mmap(-1, max(len(targets), 1))
        self._box = mmap.mmap(-1, _BOX_PER_TARGET * max(len(targets), 1))
        self._received: dict[int, tuple[int, int]] = {}
        self._buffer = b""
        self._ended = False
        self.taken = 0
        """Targets whose previews the build took from the helper."""
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
            _helper(targets, compute, self._claims, self._box, write)  # never returns
        os.close(write)
        self._read = read

    def take(self, target_id: str) -> tuple[FluoroPreview, ...] | None:
        """The helper's previews of a target, waiting for them if it is computing them;
        None when the build should compute them itself (the helper has not begun them,
        or failed)."""
        i = self._index.get(target_id)
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
            found: tuple[FluoroPreview, ...] = pickle.loads(self._box[offset : offset + length])
        except Exception:  # a box that does not read: the build computes it
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
    targets: Sequence[Target],
    compute: Callable[[Target], tuple[FluoroPreview, ...]],
    claims: mmap.mmap,
    box: mmap.mmap,
    write: int,
) -> None:
    """The helper's whole life: previews from the last target backwards until it meets a
    target the build took; then it exits at once, running none of the parent's exit code
    (no atexit handler, no buffered output flushed twice)."""
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        offset = 0
        for i in reversed(range(len(targets))):
            if claims[i] != _FREE:
                break  # the build has come this far: the rest is its own
            claims[i] = _HELPER
            try:
                payload = pickle.dumps(compute(targets[i]), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # the build computes it and says the error
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


@contextlib.contextmanager
def previews_beside(
    targets: Sequence[Target], compute: Callable[[Target], tuple[FluoroPreview, ...]]
) -> Iterator[None]:
    """A helper computing ``targets``' previews for the build in the ``with`` block, when
    this process may fork one (`helper_allowed`) and there are at least two targets to
    share; otherwise nothing (the build computes them)."""
    helper: PreviewsBeside | None = None
    if len(targets) >= 2 and helper_allowed():
        with contextlib.suppress(OSError):  # e.g. no memory for a process: no helper
            helper = PreviewsBeside(targets, compute)
            _started[0] += 1
    token = _current.set(helper)
    try:
        yield
    finally:
        _current.reset(token)
        if helper is not None:
            helper.close()
            _taken[0] += helper.taken


_started = [0]
_taken = [0]


def helper_counts() -> tuple[int, int]:
    """How many helpers this process started, and how many targets' previews builds took
    from them (for tests and benchmarks)."""
    return _started[0], _taken[0]


def taken_beside(target_id: str) -> tuple[FluoroPreview, ...] | None:
    """The previews the current build's helper computed for a target, or None (no
    helper, or the build computes them itself)."""
    helper = _current.get()
    return None if helper is None else helper.take(target_id)
