"""Shared helpers for the schema registry examples."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="session")
def user_pb2(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """Compile ``user.proto`` with protoc (from grpcio-tools) and import it, as a
    project's build would; generated code is not checked in, since it must match
    the installed protobuf runtime."""
    from grpc_tools import protoc

    out = tmp_path_factory.mktemp("pb2")
    here = Path(__file__).parent
    assert protoc.main(["protoc", f"-I{here}", f"--python_out={out}", "user.proto"]) == 0
    spec = importlib.util.spec_from_file_location("user_pb2", out / "user_pb2.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["user_pb2"] = module
    spec.loader.exec_module(module)
    return module
