"""kio codec wrappers: unknown tagged fields are skipped (KIP-482)."""

from __future__ import annotations

import uuid

from kio.schema.metadata.v12.request import MetadataRequest, MetadataRequestTopic

from streamtest.protocol import codec


def _metadata_request_bytes() -> bytes:
    topic = MetadataRequestTopic(topic_id=uuid.UUID(int=0), name="orders")
    req = MetadataRequest(
        topics=(topic,), allow_auto_topic_creation=True, include_topic_authorized_operations=False
    )
    return codec.encode(req)


def test_round_trip_through_kio():
    raw = _metadata_request_bytes()
    decoded, end = codec.decode(MetadataRequest, raw)
    assert end == len(raw)
    assert decoded.topics[0].name == "orders"


def test_unknown_tagged_field_at_top_level_is_skipped():
    raw = _metadata_request_bytes()
    assert raw[-1] == 0  # empty top-level tagged-field section
    with_tag = raw[:-1] + bytes([1, 42, 3, 0xAA, 0xBB, 0xCC])
    decoded, end = codec.decode(MetadataRequest, with_tag)
    assert end == len(with_tag)
    assert decoded.topics[0].name == "orders"
    assert decoded.allow_auto_topic_creation is True


def test_unknown_tagged_field_in_nested_struct_is_skipped():
    raw = bytearray(_metadata_request_bytes())
    # Layout: topics compact array len (1 byte) | topic_id (16) | name (1+6) | tags (1)
    nested_tags_at = 1 + 16 + 7
    assert raw[nested_tags_at] == 0
    raw[nested_tags_at : nested_tags_at + 1] = bytes([1, 7, 2, 0x01, 0x02])
    decoded, end = codec.decode(MetadataRequest, bytes(raw))
    assert end == len(raw)
    assert decoded.topics[0].name == "orders"


def test_build_keeps_only_the_fields_of_the_version():
    from kio.schema.api_versions.v0.response import ApiVersionsResponse as V0
    from kio.schema.api_versions.v3.response import ApiVersionsResponse as V3

    data = {
        "error_code": 0,
        "api_keys": [{"api_key": 0, "min_version": 3, "max_version": 9}],
        "throttle_time": 0,
        "supported_features": [],
    }
    v0 = codec.build(V0, data)
    v3 = codec.build(V3, data)
    assert not hasattr(v0, "throttle_time")
    assert v3.throttle_time.total_seconds() == 0
    assert codec.encode(v0) == bytes.fromhex("000000000001000000030009")


def test_kio_loads_on_first_use_without_hypothesis_hooks():
    # A fresh interpreter: importing the codec (and starting a broker) loads no kio,
    # and kio, once loaded by the codec, has not imported Hypothesis.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from streamtest import EmbeddedKafka\n"
        "from streamtest.protocol import codec\n"
        "k = EmbeddedKafka()\n"
        "import streamtest.broker.cluster\n"
        "assert not [m for m in sys.modules if m.startswith('kio')], 'kio at import'\n"
        "cls = codec.request_schema(18, 3)\n"
        "assert cls.__name__ == 'ApiVersionsRequest'\n"
        "assert 'hypothesis' not in sys.modules, 'kio imported hypothesis'\n"
        "import kio.static._phantom as ph\n"
        "assert ph.hypothesis is None\n"
        "import hypothesis.strategies\n"  # other code may still import it normally
        "print('ok')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.stdout == "ok\n", res.stderr


def test_with_hypothesis_already_imported_kio_skips_its_strategy_hooks():
    import subprocess
    import sys

    code = (
        "import hypothesis.strategies\n"
        "from streamtest.protocol import codec\n"
        "codec.request_schema(3, 12)\n"
        "import kio.static._phantom as ph\n"
        "assert ph.hypothesis is None\n"
        "print('ok')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.stdout == "ok\n", res.stderr
