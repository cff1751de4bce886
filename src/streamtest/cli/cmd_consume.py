"""``streamtest consume``: kcat-style reading of a topic (like ``kcat -C``)."""

from __future__ import annotations

import dataclasses
import sys

import click

from ..ops import tail
from ..ops.client import ClientConfig
from ..ops.decode import FORMATS, make_decoder
from ..ops.errors import OpsError
from ..ops.tail import (
    format_record,
    json_envelope,
    parse_offset_options,
    unescape,
    validate_format,
)
from ..types import KafkaRecord
from ._app import main
from ._ops_options import client_settings_option, cluster_options, user_input


@main.command("consume")
@click.option("-t", "--topic", required=True, help="The topic.")
@click.option("-p", "--partition", "partitions", type=click.IntRange(0), multiple=True,
              help="Only this partition; repeatable (default: all).")
@click.option("-o", "--offset", "offsets", multiple=True, metavar="OFFSET",
              help="Start at beginning, end, N (absolute), -N (N before the end) or "
                   "s@MS (first record at/after a timestamp); e@MS stops before the first "
                   "record at/after a timestamp. Default: end (beginning with only e@).")
@click.option("-c", "--count", type=click.IntRange(1), default=None,
              help="Stop after this many records.")
@click.option("-e", "--exit", "exit_at_end", is_flag=True,
              help="Stop when every partition has reached its end.")
@click.option("-f", "--format", "fmt", default=None, metavar="FMT",
              help="kcat format: %t topic, %p partition, %o offset, %k key, %K key length, "
                   "%s value, %S value length, %T timestamp, %h headers, \\n \\t escapes.")
@click.option("-J", "--json", "as_json", is_flag=True,
              help="One kcat-style JSON envelope per record.")
@click.option("-K", "--key-delimiter", default=None,
              help="Print key<delim>value (when no --format is given).")
@click.option("-D", "--delimiter", default="\\n", show_default=True,
              help="Written after each record (when no --format is given).")
@click.option("-Z", "--null-as-NULL", "null_text", is_flag=True,
              help="Print a null key or value as NULL instead of nothing (as kcat -Z).")
@click.option("--idle-timeout", type=click.FloatRange(0.1), default=None,
              help="Stop after this many seconds without records.")
@click.option("--key-format", type=click.Choice(FORMATS), default="bytes", show_default=True,
              help="Decode keys written by Confluent's serializers, through the registry.")
@click.option("--value-format", type=click.Choice(FORMATS), default="bytes",
              show_default=True,
              help="Decode values written by Confluent's serializers (Avro, JSON Schema, "
                   "Protobuf) into JSON, through the registry (like kcat -s value=avro).")
@click.option("--schema-registry-url", default=None, metavar="URL",
              envvar="STREAMTEST_SCHEMA_REGISTRY_URL",
              help="The schema registry for --key-format/--value-format "
                   "(also $STREAMTEST_SCHEMA_REGISTRY_URL).")
@client_settings_option
@cluster_options
def consume(
    config: ClientConfig,
    topic: str,
    partitions: tuple[int, ...],
    offsets: tuple[str, ...],
    count: int | None,
    exit_at_end: bool,
    fmt: str | None,
    as_json: bool,
    key_delimiter: str | None,
    delimiter: str,
    null_text: bool,
    idle_timeout: float | None,
    key_format: str,
    value_format: str,
    schema_registry_url: str | None,
) -> None:
    """Print records of a topic, one per line by default (the value).

    Keys and values are written byte for byte, as stored (like kcat), so binary
    data survives a pipe, unless --key-format/--value-format decode them through a
    schema registry into JSON. Never commits offsets. Runs until
    --count, --exit, e@MS, --idle-timeout or Ctrl-C.
    """
    if fmt is not None and as_json:
        raise click.UsageError("--format and --json are mutually exclusive")
    spec = user_input(lambda: parse_offset_options(offsets))
    if fmt is None and not as_json:
        end = unescape(delimiter).replace("%", "%%")
        fmt = ("%k" + unescape(key_delimiter).replace("%", "%%") + "%s" + end
               if key_delimiter else "%s" + end)
    if fmt is not None:
        user_input(lambda: validate_format(fmt))
    decode_key = user_input(lambda: make_decoder(key_format, schema_registry_url, "key"))
    decode_value = user_input(lambda: make_decoder(value_format, schema_registry_url, "value"))
    decoding = key_format != "bytes" or value_format != "bytes"
    out = sys.stdout.buffer  # bytes, exactly as stored
    null = b"NULL" if null_text else b""

    def emit(record: KafkaRecord, ts_type: int) -> None:
        if decoding:
            try:
                record = dataclasses.replace(
                    record,
                    key=decode_key(record.key, record.topic),
                    value=decode_value(record.value, record.topic),
                )
            except OpsError as exc:
                raise OpsError(
                    f"{record.topic} [{record.partition}] at offset {record.offset}: {exc}"
                ) from None
        if as_json:
            out.write(json_envelope(record, ts_type).encode("utf-8") + b"\n")
        else:
            assert fmt is not None
            out.write(format_record(fmt, record, ts_type, null=null))
        out.flush()

    tail.consume(
        config, topic, list(partitions) or None, spec, emit,
        count=count, exit_at_end=exit_at_end, idle_timeout=idle_timeout,
    )
