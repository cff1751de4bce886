"""``streamtest produce``: kcat-style writing of stdin lines to a topic (``kcat -P``)."""

from __future__ import annotations

import click

from ..ops.client import ClientConfig
from ..ops.produce import parse_header_option, parse_lines, produce_records
from ..ops.tail import unescape
from ._app import main
from ._ops_options import cluster_options, user_input


@main.command("produce")
@click.option("-t", "--topic", required=True, help="The topic (must exist).")
@click.option("-K", "--key-delimiter", default=None,
              help="Split each line into key<delim>value at the first delimiter.")
@click.option("--json", "json_lines", is_flag=True,
              help='JSON lines: {"key", "value", "headers", "partition", "timestamp"}.')
@click.option("--base64", "b64", is_flag=True,
              help="With --json: key, value and header values are base64 "
                   "(the format replay --output writes).")
@click.option("-H", "--header", "headers", multiple=True, metavar="NAME=VALUE",
              help="Add this header to every record; repeatable.")
@click.option("-p", "--partition", type=click.IntRange(0), default=None,
              help="Produce to this partition (default: the key partitioner).")
@click.option("-l", "--file", "source", type=click.File("r", encoding="utf-8"), default="-",
              help="Read from this file instead of stdin.")
@cluster_options
def produce(
    config: ClientConfig,
    topic: str,
    key_delimiter: str | None,
    json_lines: bool,
    b64: bool,
    headers: tuple[str, ...],
    partition: int | None,
    source: click.utils.LazyFile,
) -> None:
    """Produce one record per input line (blank lines are skipped).

    Lines before a malformed one are delivered; the error names the bad line.
    """
    if b64 and not json_lines:
        raise click.UsageError("--base64 needs --json")
    if key_delimiter is not None and json_lines:
        raise click.UsageError("--key-delimiter and --json are mutually exclusive")
    extra = [user_input(lambda h=h: parse_header_option(h)) for h in headers]
    records = parse_lines(
        source,
        key_delimiter=unescape(key_delimiter) if key_delimiter is not None else None,
        json_lines=json_lines,
        b64=b64,
        headers=extra,
        partition=partition,
    )
    sent = produce_records(config, topic, records)
    click.echo(f"Produced {sent} records to {topic}", err=True)
