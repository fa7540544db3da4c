"""Sending archive objects to a PACS: DICOM C-STORE (pynetdicom) or STOW-RS (DICOMweb).

Nothing is lost when a PACS is down or refuses: every object is first written to a
local **outbox** (a folder, mode 0700, one file per object, mode 0600, written
atomically) and removed from it only after the PACS confirmed storage. A failed send
raises `~blockplan.errors.PacsError` naming the PACS (AE titles, host:port or URL),
the reason and what to do; `retry_outbox` sends what waits there.

An unreachable PACS, one that refuses for now or does not confirm an object raises
`~blockplan.errors.PacsUnavailableError` (CLI exit status 3: retry later); a wrong
destination, AE title or credentials raise `~blockplan.errors.PacsError` (status 2).
Connecting gives up after `CONNECT_TIMEOUT_S` seconds.

Over STOW-RS an instance counts as stored only when the response lists it in its
ReferencedSOPSequence (PS3.18 §10.5.3): a server that answers HTTP 200 but lists an
instance in neither ReferencedSOPSequence nor FailedSOPSequence (Orthanc does when its
storage is full) has not stored it, and it stays in the outbox.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from blockplan.archive._common import dataset_bytes
from blockplan.errors import ArchiveError, PacsError, PacsUnavailableError

if TYPE_CHECKING:
    from dicomweb_client.api import DICOMwebClient

__all__ = [
    "CONNECT_TIMEOUT_S",
    "DicomDestination",
    "DicomWebDestination",
    "Outbox",
    "SendResult",
    "default_outbox",
    "parse_destination",
    "retry_outbox",
    "send",
    "send_cstore",
    "send_stow",
    "stow_outcome",
]

CONNECT_TIMEOUT_S = 5.0
"""Seconds to wait for a TCP connection to a PACS (C-STORE or STOW-RS) before giving up."""

_AE_RE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # 16 chars, no backslash/control


def _check_ae(title: str, role: str) -> str:
    if not _AE_RE.match(title) or not title.strip():
        raise PacsError(
            f"{role} AE title {title!r} is invalid: 1–16 printable characters without "
            "backslash are allowed"
        )
    return title


@dataclass(frozen=True, slots=True)
class DicomDestination:
    """A DICOM C-STORE SCP.

    Parameters
    ----------
    host, port
        Where the PACS listens.
    called_ae
        The PACS' AE title.
    calling_ae
        Our AE title, as registered at the PACS.
    ssl_context
        Client TLS context for DICOM TLS (PS3.15 Annex B), or None for plain DICOM.
    server_hostname
        Name to verify the PACS certificate against (default: ``host``).
    timeout
        Seconds for connecting, association and each response.
    """

    host: str
    port: int
    called_ae: str
    calling_ae: str = "BLOCKPLAN"
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)
    server_hostname: str | None = None
    timeout: float = 30.0

    def __post_init__(self) -> None:
        _check_ae(self.called_ae, "called")
        _check_ae(self.calling_ae, "calling")
        if not 0 < int(self.port) < 65536:
            raise PacsError(f"port {self.port} is not a TCP port (1–65535)")

    @property
    def label(self) -> str:
        """``CALLED@host:port`` (plus ``tls`` when encrypted)."""
        tls = " (TLS)" if self.ssl_context is not None else ""
        return f"{self.called_ae}@{self.host}:{self.port}{tls}"


@dataclass(frozen=True, slots=True)
class DicomWebDestination:
    """A DICOMweb (STOW-RS) service, e.g. ``https://pacs.example/dicom-web``.

    ``ca_bundle`` is a PEM file of trusted CAs for https; ``headers`` e.g. an
    ``Authorization`` header (never logged).
    """

    url: str
    ca_bundle: str | None = None
    headers: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    timeout: float = 30.0

    @property
    def label(self) -> str:
        """The URL without user information."""
        parts = urlparse(self.url)
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}" + (
            parts.path or ""
        )


Destination = DicomDestination | DicomWebDestination


def parse_destination(
    text: str,
    *,
    calling_ae: str = "BLOCKPLAN",
    ssl_context: ssl.SSLContext | None = None,
    ca_bundle: str | None = None,
) -> Destination:
    """``pacs://AE@host:port`` → `DicomDestination`; ``http(s)://…`` → `DicomWebDestination`."""
    if text.startswith(("http://", "https://")):
        return DicomWebDestination(url=text.rstrip("/"), ca_bundle=ca_bundle)
    m = re.match(r"^pacs(?:s)?://([^@/]+)@(\[[^\]]+\]|[^:/]+):(\d+)/?$", text)
    if m is None:
        raise PacsError(
            f"destination {text!r} is not understood; write pacs://AE@host:port "
            "(e.g. pacs://ORTHANC@127.0.0.1:4242) or a DICOMweb URL https://host/dicom-web"
        )
    called, host, port = m.group(1), m.group(2).strip("[]"), int(m.group(3))
    if text.startswith("pacss://") and ssl_context is None:
        ssl_context = ssl.create_default_context()
    return DicomDestination(
        host=host, port=port, called_ae=called, calling_ae=calling_ae, ssl_context=ssl_context
    )


# --- outbox -------------------------------------------------------------------------------
def default_outbox() -> Path:
    """``outbox`` in blockplan's user data folder (platformdirs).

    On Linux ``$XDG_DATA_HOME/blockplan/outbox`` (``~/.local/share/blockplan/outbox``).
    """
    from blockplan._paths import user_data_dir

    return user_data_dir() / "outbox"


_SAFE_NAME = re.compile(r"^[0-9.]{1,64}$")


class Outbox:
    """Objects waiting to be sent: one ``<SOPInstanceUID>.dcm`` file each.

    The folder is created with mode 0700 and each file is written atomically with
    mode 0600 (objects hold patient data).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_outbox()

    def _ensure(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(self.path, 0o700)
        except OSError as err:
            raise ArchiveError(
                f"outbox {self.path}: cannot be created ({err.strerror or err}); "
                "check that the folder is writable"
            ) from err

    def put(self, ds: Dataset) -> Path:
        """Store ``ds`` (replacing an older copy of the same instance)."""
        from blockplan.archive._common import write_private_file

        uid = str(ds.SOPInstanceUID)
        if not _SAFE_NAME.match(uid):
            raise ArchiveError(f"SOPInstanceUID {uid!r} is not a valid UID")
        self._ensure()
        try:
            return write_private_file(self.path / f"{uid}.dcm", dataset_bytes(ds))
        except OSError as err:
            raise ArchiveError(
                f"outbox {self.path}: cannot write SOPInstanceUID {uid} "
                f"({err.strerror or err}); nothing was sent"
            ) from err

    def files(self) -> list[Path]:
        """The waiting files, oldest first."""
        if not self.path.is_dir():
            return []
        items = [p for p in self.path.glob("*.dcm") if p.is_file()]
        return sorted(items, key=lambda p: (p.stat().st_mtime_ns, p.name))

    def __len__(self) -> int:
        return len(self.files())

    def load(self, path: Path) -> Dataset:
        """Read one waiting object."""
        try:
            return pydicom.dcmread(path)
        except (InvalidDicomError, OSError) as err:
            raise ArchiveError(
                f"outbox file {path} is damaged ({err}); move it away and archive again"
            ) from err

    def remove(self, sop_instance_uid: str) -> None:
        """Forget an object the PACS confirmed."""
        with contextlib.suppress(FileNotFoundError):
            (self.path / f"{sop_instance_uid}.dcm").unlink()


# --- sending ------------------------------------------------------------------------------
@dataclass
class SendResult:
    """What a send did.

    Attributes
    ----------
    destination
        Label of the PACS.
    sent
        SOPInstanceUIDs the PACS confirmed.
    warnings
        Non-fatal remarks of the PACS (e.g. coerced attributes), one per object.
    """

    destination: str
    sent: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _probe(host: str, port: int, timeout: float) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as err:
        return err.strerror or str(err)


def _associate(ae: Any, dest: DicomDestination, tls: tuple[Any, str] | None) -> Any:
    """The association with the PACS, asked for a second time when the first attempt ended
    with the connection dropped before any answer (neither accepted nor rejected).

    A PACS that rejects an association writes its answer (A-ASSOCIATE-RJ, with the reason:
    e.g. calling AE title not recognised) and closes the connection; when it closes with a
    reset before this computer has read the answer — a loaded machine — the answer is lost
    and the attempt reads as an abort, whose hint ("wrong port for plain DICOM?") misleads.
    Asked again, the PACS answers the same, usually in time. Nothing is sent before an
    association is accepted, so asking twice stores nothing twice.

    Only an attempt that ended early is asked again: one that ended by a wait running out
    (a PACS that takes the connection and never answers, or a connection never made)
    would only make the physician wait twice as long for the same message.
    """
    started = time.monotonic()
    assoc = ae.associate(dest.host, dest.port, ae_title=dest.called_ae, tls_args=tls)
    if assoc.is_established or assoc.is_rejected or not assoc.is_aborted:
        return assoc
    waits = [t for t in (ae.acse_timeout, ae.connection_timeout, ae.network_timeout) if t]
    if waits and time.monotonic() - started >= min(waits) / 2:
        return assoc  # a wait ran out: no answer is coming
    return ae.associate(dest.host, dest.port, ae_title=dest.called_ae, tls_args=tls)


def _store_one_by_one(
    datasets: Sequence[Dataset], dest: DicomDestination, result: SendResult, outbox: Outbox
) -> list[str]:
    from pynetdicom import AE

    failures: list[str] = []
    ae = AE(ae_title=dest.calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = dest.timeout
    ae.connection_timeout = min(dest.timeout, CONNECT_TIMEOUT_S)
    for sop_class in sorted({str(ds.SOPClassUID) for ds in datasets}):
        # one context per transfer syntax, so the PACS can accept the one the object has
        ae.add_requested_context(sop_class, ExplicitVRLittleEndian)
        ae.add_requested_context(sop_class, ImplicitVRLittleEndian)
    tls = None
    if dest.ssl_context is not None:
        tls = (dest.ssl_context, dest.server_hostname or dest.host)
    logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)
    assoc = _associate(ae, dest, tls)
    if assoc.is_rejected:
        rsp = assoc.acceptor.primitive
        reason = getattr(rsp, "reason_str", "no reason given")
        if getattr(rsp, "result", None) == 0x02:  # rejected-transient: busy, try later
            raise PacsUnavailableError(
                f"PACS {dest.label} is busy (association rejected for now: {reason}); "
                f"{len(datasets)} object(s) wait in the outbox {outbox.path}: retry later"
            )
        raise PacsError(
            f"PACS {dest.label} rejected the association from calling AE "
            f"{dest.calling_ae!r} to called AE {dest.called_ae!r}: {reason}. Ask the PACS "
            f"administrator to register calling AE {dest.calling_ae!r} (this computer) or "
            "use --calling-ae with a registered title, and check the called AE title; "
            f"{len(datasets)} object(s) wait in the outbox {outbox.path}"
        )
    if not assoc.is_established:
        hint = (
            "the TLS handshake failed (check --tls-ca and the PACS certificate) or the PACS aborted"
            if tls
            else "the PACS aborted the association (wrong port for plain DICOM?)"
        )
        raise PacsUnavailableError(
            f"no association with PACS {dest.label} as {dest.calling_ae!r}: {hint}; "
            f"{len(datasets)} object(s) wait in the outbox {outbox.path}"
        )
    try:
        for ds in datasets:
            uid = str(ds.SOPInstanceUID)
            status = assoc.send_c_store(ds)
            code = int(getattr(status, "Status", -1)) if status else -1
            if code == 0x0000:
                result.sent.append(uid)
                outbox.remove(uid)
            elif code in (0xB000, 0xB006, 0xB007):
                result.sent.append(uid)
                result.warnings.append(f"{uid}: stored with warning 0x{code:04X}")
                outbox.remove(uid)
            else:
                what = "no response" if code < 0 else f"status 0x{code:04X}"
                failures.append(f"{uid} ({what})")
    finally:
        if assoc.is_established:
            assoc.release()
    return failures


def send_cstore(
    datasets: Sequence[Dataset], dest: DicomDestination, *, outbox: Outbox | None = None
) -> SendResult:
    """Send objects by C-STORE, through the outbox.

    Every object is written to the outbox first and removed once the PACS answered
    success (or a warning status).

    Raises
    ------
    PacsError
        When the PACS cannot be reached, refuses the association (the message names
        the calling and called AE titles and host:port) or fails an object; what was
        not confirmed stays in the outbox.
    """
    box = outbox if outbox is not None else Outbox()
    for ds in datasets:
        box.put(ds)
    return _cstore_from(box, list(datasets), dest)


def _cstore_from(box: Outbox, datasets: list[Dataset], dest: DicomDestination) -> SendResult:
    result = SendResult(destination=dest.label)
    if not datasets:
        return result
    reason = _probe(dest.host, dest.port, min(dest.timeout, CONNECT_TIMEOUT_S))
    if reason is not None:
        raise PacsUnavailableError(
            f"cannot reach PACS {dest.label} ({reason}); check host, port and network, or "
            f"whether the PACS is running. {len(datasets)} object(s) wait in the outbox "
            f"{box.path}; send them later with `blockplan archive --retry` or retry_outbox()"
        )
    failures = _store_one_by_one(datasets, dest, result, box)
    if failures:
        raise PacsUnavailableError(
            f"PACS {dest.label} did not store {len(failures)} of {len(datasets)} object(s): "
            f"{', '.join(failures[:3])}; they wait in the outbox {box.path}. Check the PACS "
            "log for the reason, then retry"
        )
    return result


def _stow_client(dest: DicomWebDestination) -> DICOMwebClient:
    import requests
    from dicomweb_client.api import DICOMwebClient

    session = requests.Session()
    if dest.ca_bundle:
        session.verify = dest.ca_bundle
    client = DICOMwebClient(
        url=dest.url,
        session=session,
        headers=dict(dest.headers) or None,
        timeout=(min(dest.timeout, CONNECT_TIMEOUT_S), dest.timeout),
    )
    client.set_http_retry_params(retry=False)  # the outbox is the retry
    return client


def send_stow(
    datasets: Sequence[Dataset], dest: DicomWebDestination, *, outbox: Outbox | None = None
) -> SendResult:
    """Send objects by DICOMweb STOW-RS, through the outbox.

    An object leaves the outbox only when the response lists it in its
    ReferencedSOPSequence.

    Raises
    ------
    PacsUnavailableError
        When the service cannot be reached within `CONNECT_TIMEOUT_S`, answers a server
        error, or does not list an object as stored (the reason per object is named).
    PacsError
        When the service refuses the request itself (HTTP 4xx: URL or credentials).
    """
    box = outbox if outbox is not None else Outbox()
    for ds in datasets:
        box.put(ds)
    return _stow_from(box, list(datasets), dest)


def stow_outcome(response: Dataset, sent: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """What a STOW-RS response says of the instances ``sent`` (PS3.18 §10.5.3).

    Returns
    -------
    stored, not_stored
        UIDs listed in ReferencedSOPSequence (in the order sent); every other UID with
        the reason: its FailureReason from FailedSOPSequence, or "not listed as stored"
        when the response lists it in neither sequence.
    """
    listed = {str(i.get("ReferencedSOPInstanceUID", "")) for i in _items(response, "Referenced")}
    failed = {
        str(i.get("ReferencedSOPInstanceUID", "")): f"failure reason 0x{int(i.FailureReason):04X}"
        if "FailureReason" in i
        else "failed, no reason given"
        for i in _items(response, "Failed")
    }
    stored = [uid for uid in sent if uid in listed and uid not in failed]
    not_stored = {
        uid: failed.get(uid, "not listed as stored in the response")
        for uid in sent
        if uid not in stored
    }
    return stored, not_stored


def _items(response: Dataset, kind: str) -> list[Dataset]:
    return list(response.get(f"{kind}SOPSequence") or [])


def _stow_group(client: DICOMwebClient, group: list[Dataset], dest: DicomWebDestination) -> Dataset:
    """POST one study's instances; HTTP and network failures become PACS errors."""
    import requests

    try:
        response: Dataset = client.store_instances(group)
    except requests.exceptions.HTTPError as err:
        status = err.response.status_code if err.response is not None else 0
        if 400 <= status < 500 and status not in (408, 409, 429):
            raise PacsError(
                f"DICOMweb {dest.label} refused the request (HTTP {status}); check the URL "
                f"and credentials. The objects wait in the outbox"
            ) from err
        raise PacsUnavailableError(
            f"DICOMweb {dest.label} did not store the objects (HTTP {status or '?'}); "
            "they wait in the outbox: retry later"
        ) from err
    except (requests.exceptions.RequestException, OSError) as err:
        raise PacsUnavailableError(
            f"cannot reach DICOMweb {dest.label} ({type(err).__name__}, connect timeout "
            f"{min(dest.timeout, CONNECT_TIMEOUT_S):g} s); check the URL and network, or "
            "whether the PACS is running. The objects wait in the outbox: retry later"
        ) from err
    return response


def _stow_from(box: Outbox, datasets: list[Dataset], dest: DicomWebDestination) -> SendResult:
    result = SendResult(destination=dest.label)
    if not datasets:
        return result
    client = _stow_client(dest)
    problems: dict[str, str] = {}
    by_study: dict[str, list[Dataset]] = {}
    for ds in datasets:
        by_study.setdefault(str(ds.StudyInstanceUID), []).append(ds)
    for group in by_study.values():
        try:
            response = _stow_group(client, group, dest)
        except PacsError as err:
            waiting = len(datasets) - len(result.sent)
            raise type(err)(f"{err} ({waiting} object(s) in {box.path})") from err
        stored, not_stored = stow_outcome(response, [str(ds.SOPInstanceUID) for ds in group])
        for uid in stored:
            result.sent.append(uid)
            box.remove(uid)
        problems.update(not_stored)
    if problems:
        first = next(iter(problems.items()))
        unlisted = sum(1 for r in problems.values() if r.startswith("not listed"))
        hint = " (is its storage full? ask the PACS administrator)" if unlisted else ""
        raise PacsUnavailableError(
            f"DICOMweb {dest.label} did not confirm {len(problems)} of {len(datasets)} "
            f"object(s){hint}: SOPInstanceUID {first[0]} {first[1]}; they wait in the outbox "
            f"{box.path}: retry later with `blockplan archive --retry`"
        )
    return result


def send(
    datasets: Sequence[Dataset], dest: Destination, *, outbox: Outbox | None = None
) -> SendResult:
    """Send by C-STORE or STOW-RS, whichever ``dest`` is (see `send_cstore`, `send_stow`)."""
    if isinstance(dest, DicomWebDestination):
        return send_stow(datasets, dest, outbox=outbox)
    return send_cstore(datasets, dest, outbox=outbox)


def retry_outbox(dest: Destination, outbox: Outbox | None = None) -> SendResult:
    """Send everything waiting in the outbox to ``dest``; sent files are removed.

    Raises
    ------
    PacsError
        As `send`; unsent objects stay.
    """
    box = outbox if outbox is not None else Outbox()
    datasets = [box.load(p) for p in box.files()]
    if isinstance(dest, DicomWebDestination):
        return _stow_from(box, datasets, dest)
    return _cstore_from(box, datasets, dest)
