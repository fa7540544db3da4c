"""Pictures and checks a report computes from a case and its images, kept for the next
build of the same case revision.

The Report panel builds the report for its preview, then again to write or archive it;
the C-arm previews (one DRR each), the key images and the automatic level count of that
second build are the first build's, reused. A result is reused only for the very same
case content (a digest of the case as JSON: any edit is another revision) and the very
same image arrays (the objects themselves, held by weak reference, with their affine):
a volume that was loaded again, resampled or freed is computed anew. Only the latest
case revision is kept, so the memo holds a few megabytes of pictures and never keeps a
volume alive.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from blockplan.case.model import Case
    from blockplan.io.volume import ImageVolume

__all__ = ["ReportMemo", "case_revision", "report_memo"]

T = TypeVar("T")

_VolumeKey = tuple[int, bytes]


def case_revision(case: Case) -> str:
    """A digest of the case's content: equal for equal cases, different after any edit."""
    return hashlib.sha256(case.model_dump_json().encode("utf-8")).hexdigest()


def _volume_key(volume: ImageVolume) -> _VolumeKey:
    return id(volume.array), volume.affine.tobytes() + volume.modality.encode("utf-8")


class ReportMemo:
    """Results keyed by case revision, image volumes and a part name (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revision = ""
        self._entries: dict[Hashable, tuple[tuple[weakref.ref[Any], ...], Any]] = {}
        self.hits = 0
        """How many results were reused (for tests and benchmarks)."""

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

    def clear(self) -> None:
        """Forget every result (the next build computes everything)."""
        with self._lock:
            self._entries.clear()
            self._revision = ""


report_memo = ReportMemo()
"""The memo the report builder uses."""
