"""A throw-away Orthanc for the archive tests, reachable only from this test process.

Orthanc 1.10 listens on every interface and has no option to bind loopback only. So it
runs in a network namespace of its own (``unshare -n``, whose only interface is a
private ``lo``): nothing outside this machine — nor any other process on it — can
reach it. The test process reaches it through a relay:

* a listening socket on the host's ``127.0.0.1`` (an ephemeral port, per service), and
* a relay thread that has entered Orthanc's network namespace (``setns`` on
  ``/proc/<pid>/ns/net``; network namespaces are per thread on Linux), so the
  connections it opens to ``127.0.0.1:4242``/``8042`` land inside the namespace.

Accepted sockets belong to the host namespace and outgoing ones to Orthanc's; copying
bytes between them needs no namespace at all. Client code under test (pynetdicom,
dicomweb-client, requests) therefore runs in the test process unchanged and talks to
``127.0.0.1:<relay port>``. Needs root (``unshare``, ``setns``) and Linux.

When the server is stopped the relay listeners are closed as well, so a client sees
"connection refused" exactly as with a PACS that is down; `start` can reuse the same
host ports.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
INNER_DICOM_PORT = 4242
INNER_HTTP_PORT = 8042
CLONE_NEWNET = 0x40000000


def available() -> str | None:
    """Why the Orthanc tests cannot run here, or None when they can."""
    if not os.path.exists(ORTHANC):
        return "Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)"
    if not os.path.exists(DICOMWEB_PLUGIN):
        return "the Orthanc DICOMweb plugin is missing (apt-get install orthanc-dicomweb)"
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return "needs root and unshare(1) to give Orthanc a private network namespace"
    return None


def _setns_net(pid: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into the network namespace of pid {pid} failed")
    finally:
        os.close(fd)


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


class _Relay:
    """127.0.0.1:<port> on the host → 127.0.0.1:<inner_port> inside Orthanc's namespace."""

    def __init__(self, pid: int, inner_port: int, port: int = 0) -> None:
        self.pid = pid
        self.inner_port = inner_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(16)
        self.port: int = self.listener.getsockname()[1]
        self._conns: list[socket.socket] = []
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True, name="orthanc-relay")
        self._thread.start()
        self._ready.wait(5)
        if self._error is not None:
            raise self._error

    def _serve(self) -> None:
        try:
            _setns_net(self.pid)  # this thread only
        except BaseException as err:  # reported to the constructor
            self._error = err
            self._ready.set()
            return
        self._ready.set()
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # listener closed
            try:
                upstream = socket.create_connection(("127.0.0.1", self.inner_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()
        self._thread.join(5)


@dataclass
class OrthancServer:
    """One Orthanc in a private network namespace, with relays from host loopback.

    Parameters
    ----------
    workdir
        Folder for the configuration, storage and log (a pytest ``tmp_path``).
    aet
        Orthanc's AE title (the called AE of our C-STORE).
    known_modalities
        Calling AE titles Orthanc accepts stores from (``DicomAlwaysAllowStore`` is off).
    tls
        ``(certificate, private key, trusted CA)`` PEM paths to serve DICOM TLS instead of
        plain DICOM, or None.
    max_storage_mb
        Orthanc's ``MaximumStorageSize`` (None: unlimited); see `fill_storage`.
    """

    workdir: Path
    aet: str = "ORTHANC_TEST"
    known_modalities: tuple[str, ...] = ("BLOCKPLAN",)
    tls: tuple[Path, Path, Path] | None = None
    max_storage_mb: int | None = None
    dicom_port: int = 0
    http_port: int = 0
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _relays: list[_Relay] = field(default_factory=list, repr=False)

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "Name": "blockplan-test",
            "StorageDirectory": str(self.workdir / "storage"),
            "IndexDirectory": str(self.workdir / "index"),
            "StorageCompression": False,
            "DicomAet": self.aet,
            "DicomPort": INNER_DICOM_PORT,
            "HttpPort": INNER_HTTP_PORT,
            "RemoteAccessAllowed": True,  # the relay's connections come from lo anyway
            "AuthenticationEnabled": False,
            "DicomCheckCalledAet": True,
            "DicomAlwaysAllowEcho": False,
            "DicomAlwaysAllowStore": False,
            "DicomCheckModalityHost": False,
            "UnknownSopClassAccepted": True,
            "DicomModalities": {
                aet.lower(): {"AET": aet, "Host": "127.0.0.1", "Port": 104}
                for aet in self.known_modalities
            },
            "Plugins": [DICOMWEB_PLUGIN],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
            "SaveJobs": False,
            "HttpServerEnabled": True,
            "ConcurrentJobs": 1,
        }
        if self.max_storage_mb is not None:
            cfg["MaximumStorageSize"] = self.max_storage_mb
        if self.tls is not None:
            cert, key, ca = self.tls
            cfg.update(
                {
                    "DicomTlsEnabled": True,
                    "DicomTlsCertificate": str(cert),
                    "DicomTlsPrivateKey": str(key),
                    "DicomTlsTrustedCertificates": str(ca),
                    "DicomTlsRemoteCertificateRequired": False,
                }
            )
        return cfg

    # -- life cycle ----------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> OrthancServer:
        """Start Orthanc and the relays (reusing the host ports of a previous start)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        cfg_path = self.workdir / "orthanc.json"
        cfg_path.write_text(json.dumps(self.config(), indent=2))
        log = open(self.workdir / "orthanc.log", "ab")  # noqa: SIM115 - owned by Popen
        self._proc = subprocess.Popen(
            [
                *("unshare", "-n", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$1"'),
                *(ORTHANC, str(cfg_path)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        try:
            self._wait_namespace(timeout)
            dicom = _Relay(self._proc.pid, INNER_DICOM_PORT, self.dicom_port)
            http = _Relay(self._proc.pid, INNER_HTTP_PORT, self.http_port)
            self._relays = [dicom, http]
            self.dicom_port, self.http_port = dicom.port, http.port
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_namespace(self, timeout: float) -> None:
        # Popen returns before unshare(2) ran: until then /proc/<pid>/ns/net is still ours,
        # and a relay entering it would reach the host's loopback instead of Orthanc.
        assert self._proc is not None
        ours = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"unshare/Orthanc exited; see {self.workdir / 'orthanc.log'}")
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{self._proc.pid}/ns/net") != ours:
                    return
            time.sleep(0.01)
        raise RuntimeError("Orthanc's network namespace did not appear")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"Orthanc exited early; see {self.workdir / 'orthanc.log'}")
            try:
                self.get_json("/system")
                return
            except (OSError, urllib.error.URLError, ValueError):
                time.sleep(0.1)
        raise RuntimeError(f"Orthanc did not answer within {timeout} s")

    def stop(self) -> None:
        """Stop the relays (so the ports refuse connections) and Orthanc."""
        for relay in self._relays:
            relay.close()
        self._relays = []
        if self._proc is not None:
            # A throw-away server: no need for Orthanc's graceful stop (~3 s).
            self._proc.kill()
            self._proc.wait(10)
            self._proc = None

    def __enter__(self) -> OrthancServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- REST ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=10) as rsp:
            data: bytes = rsp.read()
            return data

    def get_json(self, path: str) -> Any:
        return json.loads(self.get(path))

    def post(self, path: str, data: bytes, method: str = "POST") -> Any:
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as rsp:
            body = rsp.read()
        return json.loads(body) if body.strip().startswith((b"{", b"[")) else body

    def fill_storage(self, dicom_file: bytes) -> None:
        """Store ``dicom_file`` (another patient) and protect its patient from recycling.

        With ``max_storage_mb`` just above the file's size, the storage is then full: Orthanc
        can recycle no patient and stores nothing more ("The file storage is full").
        """
        stored = self.post("/instances", dicom_file)
        self.post(f"/patients/{stored['ParentPatient']}/protected", b"1", method="PUT")

    def find_instance(self, sop_instance_uid: str) -> str | None:
        """Orthanc's id of the instance with this SOPInstanceUID, or None."""
        req = urllib.request.Request(
            self.url + "/tools/lookup", data=sop_instance_uid.encode(), method="POST"
        )
        with urllib.request.urlopen(req, timeout=10) as rsp:
            hits = json.loads(rsp.read())
        for hit in hits:
            if hit.get("Type") == "Instance":
                return str(hit["ID"])
        return None

    def instance_file(self, sop_instance_uid: str) -> bytes | None:
        """The stored file of an instance, or None when Orthanc does not have it."""
        oid = self.find_instance(sop_instance_uid)
        return None if oid is None else self.get(f"/instances/{oid}/file")
