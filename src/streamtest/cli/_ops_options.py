"""Options and error handling shared by the ops commands (groups, offsets, replay,
lag, consume, produce, topics).

Every ops command takes ``--bootstrap-server`` (``--bootstrap-servers`` works too)
and ``--command-config`` as ``kafka-consumer-groups.sh`` does, plus ``--timeout``
in seconds; the decorated function receives a ready
:class:`~streamtest.ops.client.ClientConfig` as ``config``. User errors become one
``Error: ...`` line on stderr and exit status 1.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from confluent_kafka import KafkaException

from ..envvars import BOOTSTRAP_SERVER, bootstrap_from_env
from ..ops.client import DEFAULT_BOOTSTRAP, ClientConfig, kafka_error_message
from ..ops.errors import InvalidInputError, OpsError

F = TypeVar("F", bound=Callable[..., Any])


class AliasedOption(click.Option):
    """An option whose help shows only its first name; the others are accepted
    spellings (``--bootstrap-servers`` for ``--bootstrap-server``)."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        """Return the help line with the documented name only."""
        opts = self.opts
        self.opts = opts[:1]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = opts


def bootstrap_option(*, default: str | None = None, help_text: str | None = None) -> Any:
    """Return the ``--bootstrap-server`` option (``--bootstrap-servers`` accepted)."""
    return click.option(
        "--bootstrap-server",
        "--bootstrap-servers",
        "bootstrap_server",
        cls=AliasedOption,
        default=default,
        metavar="HOST:PORT[,...]",
        help=help_text
        or f"Kafka to connect to (default: ${BOOTSTRAP_SERVER}, else {DEFAULT_BOOTSTRAP}).",
    )


def resolve_bootstrap(given: str | None, props: dict[str, str] | None = None) -> str:
    """Return the bootstrap servers: the option, else the environment, else the
    ``bootstrap.servers`` of ``--command-config``, else ``localhost:9092``.

    Raises:
        InvalidInputError: the two environment spellings disagree.
    """
    if given:
        return given
    try:
        from_env = bootstrap_from_env()
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    return from_env or (props or {}).get("bootstrap.servers") or DEFAULT_BOOTSTRAP


def parse_client_settings(items: tuple[str, ...]) -> dict[str, str]:
    """Parse kcat's ``-X key=value`` librdkafka settings.

    Raises:
        InvalidInputError: an item without ``=``.
    """
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"invalid -X {item!r}: expected librdkafka KEY=VALUE")
        out[key.strip()] = value
    return out


def client_settings_option(fn: F) -> F:
    """Add kcat's ``-X KEY=VALUE`` (librdkafka settings, over ``--command-config``);
    :func:`cluster_options` applies them."""
    return click.option(
        "-X",
        "client_settings",
        multiple=True,
        metavar="KEY=VALUE",
        help="A librdkafka client setting, e.g. -X security.protocol=SSL; repeatable; "
        "wins over --command-config.",
    )(fn)


def cluster_options(fn: F) -> F:
    """Add ``--bootstrap-server``, ``--command-config`` and ``--timeout``, pass
    ``config``, and turn ops errors into one-line CLI errors."""

    @functools.wraps(fn)
    def wrapper(
        *args: Any,
        bootstrap_server: str | None,
        command_config: str | None,
        timeout: float,
        **kwargs: Any,
    ) -> Any:
        try:
            props: dict[str, str] = {}
            if command_config:
                from ..ops.properties import read_properties_file, translate_java_properties

                translated = translate_java_properties(read_properties_file(command_config))
                for message in translated.warnings:
                    warn(f"{command_config}: {message}")
                props = translated.properties
            props.update(parse_client_settings(kwargs.pop("client_settings", ())))
            servers = resolve_bootstrap(bootstrap_server, props)
            props.pop("bootstrap.servers", None)
            config = ClientConfig(servers, props, timeout)
            return fn(*args, config=config, **kwargs)
        except OpsError as exc:
            raise click.ClickException(" ".join(str(exc).split())) from None
        except KafkaException as exc:
            raise click.ClickException(kafka_error_message(exc)) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    wrapper = click.option(
        "--timeout",
        type=click.FloatRange(0.1),
        default=10.0,
        show_default=True,
        metavar="SECONDS",
        help="Seconds to wait for the cluster on each operation.",
    )(wrapper)
    wrapper = click.option(
        "--command-config",
        type=click.Path(dir_okay=False),
        default=None,
        help="Client properties file: a Java client.properties (SASL/TLS settings are "
        "translated for librdkafka) or librdkafka key=value lines.",
    )(wrapper)
    wrapper = bootstrap_option()(wrapper)
    return wrapper  # type: ignore[return-value]


def user_input(fn: Callable[[], Any]) -> Any:
    """Run a parse step, turning :class:`OpsError` into a one-line click error (not a
    usage error, which would print the usage text around it)."""
    try:
        return fn()
    except OpsError as exc:
        raise click.ClickException(str(exc)) from None


def warn(message: str) -> None:
    """Print a ``WARN:`` line on stderr."""
    click.echo(f"WARN: {message}", err=True)
