"""Shared test setup: tf_keras only, a network guard, small thread pools, seeds.

The network guard fails any test that opens a non-loopback socket in this process.
Fetch steps (``pip download``/``apt-get download``) run in subprocesses against the
package registries, which is the one network use the project allows.
"""
import os
import socket

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TFHUB_OFFLINE", "1")

import pytest  # noqa: E402

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = address[0] if isinstance(address, tuple) else address
    return host in {"localhost", "127.0.0.1", "::1", "0.0.0.0"} or str(host).startswith("127.")


def _guarded_connect(self, address):
    if not _is_local(address):
        raise RuntimeError(f"network access attempted in a test: connect to {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _is_local(address):
        raise RuntimeError(f"network access attempted in a test: connect to {address!r}")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if not _is_local((host,)):
        raise RuntimeError(f"network access attempted in a test: DNS lookup of {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


_real_getaddrinfo = socket.getaddrinfo
socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
socket.getaddrinfo = _guarded_getaddrinfo


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
