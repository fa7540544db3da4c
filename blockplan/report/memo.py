"""Pictures and checks a report computes from a case and its images, kept for the next
build of the same case revision.

When a process builds the report of a case again (the Report panel's Build pressed a
second time, e.g. after changing the author or the date), the C-arm previews (one DRR
each), the key images and the automatic level count of the first build are reused. A
result is reused only for the very same case content (a digest of the case as JSON: any
edit is another revision) and the very same image arrays (the objects themselves, held by
weak reference, with their affine and description): a volume that was loaded again,
resampled or freed is computed anew. Only the latest case revision is kept, so the memo
holds a few megabytes of pictures and never keeps a volume alive.

The pictures are also kept by what they are drawn from, across revisions
(`ReportMemo.lasting`, the latest `LASTING_LIMIT` of them): the line integrals of a C-arm
preview by the CT and the C-arm position, the automatic level count by the series, a key
image by its series, target, path, label, scar and level markers. Building the report again
after an edit that moves no needle — a diary entry, a score, a note — computes none of them
again; a moved needle gets its own target's pictures (and the sagittal overview) anew.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from blockplan.case.model import Case
    from blockplan.io.volume import ImageVolume

__all__ = [
    "LASTING_LIMIT",
    "ImageStreams",
    "ReportMemo",
    "case_revision",
    "image_streams",
    "report_memo",
]

T = TypeVar("T")

_VolumeKey = tuple[int, bytes]

LASTING_LIMIT = 96
"""How many results `ReportMemo.lasting` keeps (a 256² DRR is 256 KiB, a 320² key image
300 KiB: at most about 30 MiB, whatever the number of cases built)."""


def case_revision(case: Case) -> str:
    """A digest of the case's content: equal for equal cases, different after any edit."""
    return hashlib.sha256(case.model_dump_json().encode("utf-8")).hexdigest()


def _volume_key(volume: ImageVolume) -> _VolumeKey:
    """The array's identity, its affine, and a digest of everything else the volume says
    (series number, description, geometry note …: captions quote them)."""
    skip = ("array", "affine")
    described = repr([getattr(volume, f.name) for f in fields(volume) if f.name not in skip])
    digest = hashlib.sha256(volume.affine.tobytes() + described.encode("utf-8"))
    return id(volume.array), digest.digest()


class ReportMemo:
    """Results keyed by case revision, image volumes and a part name (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revision = ""
        self._entries: dict[Hashable, tuple[tuple[weakref.ref[Any], ...], Any]] = {}
        self._lasting: dict[Hashable, tuple[tuple[weakref.ref[Any], ...], Any]] = {}
        self.hits = 0
        """How many results of a case revision were reused (for tests and benchmarks)."""
        self.lasting_hits = 0
        """How many image-only results were reused (`lasting`)."""

    def get(
        self,
        revision: str,
        volumes: Sequence[ImageVolume],
        part: Hashable,
        compute: Callable[[], T],
    ) -> T:
        """``compute()``'s result for this case revision, these volumes and ``part``;
        computed now unless it was computed for the same ones before (an empty
        ``revision`` always computes)."""
        if not revision:
            return compute()
        key = (tuple(_volume_key(v) for v in volumes), part)
        with self._lock:
            if revision != self._revision:
                self._entries.clear()
                self._revision = revision
            found = self._entries.get(key)
        if found is not None:
            refs, value = found
            if all(r() is v.array for r, v in zip(refs, volumes, strict=True)):
                with self._lock:
                    self.hits += 1
                result: T = value
                return result
        value = compute()
        refs = tuple(weakref.ref(v.array) for v in volumes)
        with self._lock:
            if revision == self._revision:
                self._entries[key] = (refs, value)
        return value

    def lasting(
        self, volumes: Sequence[ImageVolume], part: Hashable, compute: Callable[[], T]
    ) -> T:
        """``compute()``'s result for these volumes and ``part`` whatever the case
        revision: for results that depend on the images and ``part`` alone (a DRR for one
        C-arm position, the level count of a CT, a key image with a digest of what it is
        drawn from in ``part``). The latest `LASTING_LIMIT` are kept."""
        key = (tuple(_volume_key(v) for v in volumes), part)
        with self._lock:
            found = self._lasting.pop(key, None)
            if found is not None:
                refs, value = found
                if all(r() is v.array for r, v in zip(refs, volumes, strict=True)):
                    self._lasting[key] = found  # most recently used last
                    self.lasting_hits += 1
                    result: T = value
                    return result
        value = compute()
        refs = tuple(weakref.ref(v.array) for v in volumes)
        with self._lock:
            self._lasting[key] = (refs, value)
            while len(self._lasting) > LASTING_LIMIT:
                del self._lasting[next(iter(self._lasting))]
        return value

    def holds(self, revision: str, volumes: Sequence[ImageVolume], part: Hashable) -> bool:
        """Whether `get` would reuse a result for this revision, these volumes and
        ``part`` (without counting it as reused)."""
        key = (tuple(_volume_key(v) for v in volumes), part)
        with self._lock:
            found = self._entries.get(key) if revision and revision == self._revision else None
        return found is not None and _same_arrays(found[0], volumes)

    def holds_lasting(self, volumes: Sequence[ImageVolume], part: Hashable) -> bool:
        """Whether `lasting` would reuse a result for these volumes and ``part``."""
        key = (tuple(_volume_key(v) for v in volumes), part)
        with self._lock:
            found = self._lasting.get(key)
        return found is not None and _same_arrays(found[0], volumes)

    def clear(self) -> None:
        """Forget every result, compressed images too (the next build computes
        everything)."""
        with self._lock:
            self._entries.clear()
            self._lasting.clear()
            self._revision = ""
        image_streams.clear()


def _same_arrays(refs: tuple[weakref.ref[Any], ...], volumes: Sequence[ImageVolume]) -> bool:
    """Whether a kept result's arrays are these volumes' very arrays (still alive)."""
    return all(r() is v.array for r, v in zip(refs, volumes, strict=True))


report_memo = ReportMemo()
"""The memo the report builder uses."""


class ImageStreams:
    """Compressed image streams by content: the Flate data reportlab made for an image's
    pixels, kept for the next build that embeds the very same pixels (the key is a digest
    of the pixel bytes with the image's size, mode and mask).

    A stream can also be promised (`promise`): compressed in a worker thread while the
    layout runs; `get` then waits for it instead of compressing the same pixels again.

    Bounded (the latest ``limit`` images, a few megabytes); thread-safe.
    """

    def __init__(self, limit: int = 128) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._streams: dict[str, tuple[Any, ...]] = {}
        self._promised: dict[str, Future[tuple[Any, ...]]] = {}
        self.hits = 0
        """Streams kept from an earlier build (or `prepare_report`) and used again."""
        self.awaited = 0
        """Streams promised by this build's own workers and waited for."""

    def get(self, name: str) -> tuple[Any, ...] | None:
        """The stream promised for ``name`` (once it is done) or kept for it; else None.
        A promise that failed is None too: the caller compresses the pixels itself."""
        with self._lock:
            promised = self._promised.get(name)
            if promised is None:
                found = self._streams.pop(name, None)
                if found is not None:
                    self._streams[name] = found  # most recently used last
                    self.hits += 1
                return found
        try:
            stream = promised.result()
        except Exception:  # a failed worker (e.g. out of memory): the caller compresses
            return None
        with self._lock:
            self.awaited += 1
        return stream

    def has(self, name: str) -> bool:
        """Whether a stream for ``name`` is kept or promised."""
        with self._lock:
            return name in self._streams or name in self._promised

    def put(self, name: str, stream: tuple[Any, ...]) -> None:
        with self._lock:
            self._keep(name, stream)

    def promise(self, name: str, future: Future[tuple[Any, ...]]) -> None:
        """A stream being made by ``future``: `get` waits for it, and it is kept once
        done. `settle` ends the promise (the stream stays kept)."""
        with self._lock:
            self._promised[name] = future

        def done(f: Future[tuple[Any, ...]]) -> None:
            if not f.cancelled() and f.exception() is None:
                with self._lock:
                    self._keep(name, f.result())

        future.add_done_callback(done)

    def settle(self, names: Iterable[str]) -> None:
        """End the promises of ``names`` whose workers have ended (a promise another build
        made since for the same pixels stays until its own end)."""
        with self._lock:
            for name in names:
                promised = self._promised.get(name)
                if promised is not None and promised.done():
                    del self._promised[name]

    def _keep(self, name: str, stream: tuple[Any, ...]) -> None:
        self._streams[name] = stream
        while len(self._streams) > self._limit:
            del self._streams[next(iter(self._streams))]

    def clear(self) -> None:
        with self._lock:
            self._streams.clear()


image_streams = ImageStreams()
"""The compressed image streams the report builder reuses."""
