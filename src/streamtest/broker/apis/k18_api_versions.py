"""ApiVersions (key 18), versions 0-4.

The advertised ranges come from the dispatch registry, so they always match what
is implemented. A request of a version newer than we support is answered in the
v0 format with UNSUPPORTED_VERSION and, as Kafka does, only ApiVersions' own range
(KIP-511), so the client can retry with a version we speak. From v3 the client's
software name and version must match Kafka's pattern, else INVALID_REQUEST with no
ranges. The response header is always v0.
"""

from __future__ import annotations

import functools
import re
import struct
from typing import Any

from ...protocol import codec
from ...protocol.errors import ErrorCode
from ..dispatch import LEGACY, REGISTRY, RequestContext, api


def _api_keys(legacy: bool = False) -> list[dict[str, int]]:
    def low(s: Any) -> int:
        if not legacy:
            return int(s.min_version)
        return min([s.min_version, *(v for k, v in LEGACY if k == s.key)])

    return [
        {"api_key": s.key, "min_version": low(s), "max_version": s.max_version}
        for s in sorted(REGISTRY.values(), key=lambda s: s.key)
    ]


#: ApiVersionsRequest.isValid's pattern for client_software_name and _version.
_SOFTWARE = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?")


@api(18, "ApiVersions", 0, 4)
def handle_api_versions(ctx: RequestContext, request: Any) -> bytes:
    """Return the supported version range of every registered API (with the
    removed versions ``streamtest.legacy.protocol`` serves, when it is on)."""
    if ctx.version >= 3 and not (
        _SOFTWARE.fullmatch(request.client_software_name or "")
        and _SOFTWARE.fullmatch(request.client_software_version or "")
    ):
        cls = codec.response_schema(18, ctx.version)
        return codec.encode(
            codec.build(cls, {"error_code": ErrorCode.INVALID_REQUEST, "api_keys": []})
        )
    legacy = bool(ctx.cluster.settings["streamtest.legacy.protocol"])
    return _encoded(ctx.version, len(REGISTRY), legacy)


@functools.cache
def _encoded(version: int, _registered: int, legacy: bool = False) -> bytes:
    """Encode the ApiVersions response once per version.

    Every client sends ApiVersions on every new connection, and encoding ~60
    entries through kio took ~0.4 ms; the answer only changes if APIs are
    registered, hence ``_registered`` in the cache key.
    """
    cls = codec.response_schema(18, version)
    return codec.encode(
        codec.build(
            cls,
            {
                "error_code": ErrorCode.NONE,
                "api_keys": _api_keys(legacy),
                "throttle_time": 0,
                "supported_features": [],
                "finalized_features_epoch": -1,
                "finalized_features": [],
            },
        )
    )


def unsupported_version_response() -> bytes:
    """Return the v0-format body answering a too-new ApiVersions request: the error
    and ApiVersions' own range, all a client needs to retry (Kafka's
    ApiVersionsRequest.getErrorResponse)."""
    spec = REGISTRY[18]
    out = bytearray(struct.pack(">hi", ErrorCode.UNSUPPORTED_VERSION, 1))
    out += struct.pack(">hhh", spec.key, spec.min_version, spec.max_version)
    return bytes(out)
