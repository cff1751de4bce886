"""``streamtest consume``: kcat-style reading of a topic (like ``kcat -C``)."""

from __future__ import annotations

import sys

import click

from ..ops import tail
from ..ops.client import ClientConfig
from ..ops.tail import (
    format_record,
    json_envelope,
    parse_offset_options,
    unescape,
    validate_format,
)
from ..types import KafkaRecord
from ._app import main
from ._ops_options import cluster_options, user_input


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
@click.option("--idle-timeout", type=click.FloatRange(0.1), default=None,
              help="Stop after this many seconds without records.")
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
    idle_timeout: float | None,
) -> None:
    """Print records of a topic, one per line by default (the value).

    Never commits offsets. Runs until --count, --exit, e@MS, --idle-timeout or Ctrl-C.
    """
    if fmt is not None and as_json:
        raise click.UsageError("--format and --json are mutually exclusive")
    spec = user_input(lambda: parse_offset_options(offsets))
    if fmt is None and not as_json:
        fmt = "%k" + unescape(key_delimiter).replace("%", "%%") + "%s\\n" if key_delimiter \
            else "%s\\n"
    if fmt is not None:
        user_input(lambda: validate_format(fmt))
    out = sys.stdout

    def emit(record: KafkaRecord, ts_type: int) -> None:
        if as_json:
            out.write(json_envelope(record, ts_type) + "\n")
        else:
            assert fmt is not None
            out.write(format_record(fmt, record, ts_type))
        out.flush()

    tail.consume(
        config, topic, list(partitions) or None, spec, emit,
        count=count, exit_at_end=exit_at_end, idle_timeout=idle_timeout,
    )
