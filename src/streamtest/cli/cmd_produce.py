"""``streamtest produce``: kcat-style writing of stdin records to a topic (``kcat -P``)."""

from __future__ import annotations

from typing import IO

import click

from ..ops.client import ClientConfig
from ..ops.produce import parse_header_option, parse_records, produce_records, split_records
from ..ops.tail import unescape
from ._app import main
from ._ops_options import client_settings_option, cluster_options, user_input


def _raw(text: str) -> bytes:
    """Return a delimiter given on the command line as bytes (kcat's escapes expanded;
    surrogate escapes, how Python reads non-UTF-8 arguments, become their bytes)."""
    return unescape(text).encode("utf-8", errors="surrogateescape")


@main.command("produce")
@click.option("-t", "--topic", required=True, help="The topic (must exist).")
@click.option("-K", "--key-delimiter", default=None,
              help="Split each record into key<delim>value at the first delimiter.")
@click.option("-D", "--delimiter", default="\\n", show_default=True,
              help="Record delimiter: the input is split into records at each one.")
@click.option("-Z", "--empty-as-null", "null_empty", is_flag=True,
              help="Send an empty value (as in 'key:' with -K:) as null, a tombstone.")
@click.option("--json", "json_lines", is_flag=True,
              help='JSON lines: {"key", "value", "headers", "partition", "timestamp"}.')
@click.option("--base64", "b64", is_flag=True,
              help="With --json: key, value and header values are base64 "
                   "(the format replay --output writes).")
@click.option("-H", "--header", "headers", multiple=True, metavar="NAME=VALUE",
              help="Add this header to every record; repeatable.")
@click.option("-p", "--partition", type=click.IntRange(0), default=None,
              help="Produce to this partition (default: the key partitioner).")
@click.option("-l", "--file", "source", type=click.File("rb"), default="-",
              help="Read from this file instead of stdin.")
@client_settings_option
@cluster_options
def produce(
    config: ClientConfig,
    topic: str,
    key_delimiter: str | None,
    delimiter: str,
    null_empty: bool,
    json_lines: bool,
    b64: bool,
    headers: tuple[str, ...],
    partition: int | None,
    source: IO[bytes],
) -> None:
    """Produce one record per input line (or per -D delimiter); empty ones are skipped.

    Input bytes are produced exactly as read (like kcat), so binary and non-UTF-8
    values go through unchanged. Records before a malformed one are delivered; the
    error names the bad one.
    """
    if b64 and not json_lines:
        raise click.UsageError("--base64 needs --json")
    if key_delimiter is not None and json_lines:
        raise click.UsageError("--key-delimiter and --json are mutually exclusive")
    if null_empty and json_lines:
        raise click.UsageError("-Z applies to text input; in --json write \"value\": null")
    extra = [user_input(lambda h=h: parse_header_option(h)) for h in headers]
    records = parse_records(
        split_records(source, user_input(lambda: _raw(delimiter) or _empty_delimiter())),
        key_delimiter=_raw(key_delimiter) if key_delimiter is not None else None,
        json_lines=json_lines,
        b64=b64,
        headers=extra,
        partition=partition,
        null_empty=null_empty,
    )
    sent = produce_records(config, topic, records)
    click.echo(f"Produced {sent} record{'' if sent == 1 else 's'} to {topic}", err=True)


def _empty_delimiter() -> bytes:
    from ..ops.errors import InvalidInputError

    raise InvalidInputError("the record delimiter (-D) must not be empty")
