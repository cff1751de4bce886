"""Options and error handling shared by the ops commands (groups, offsets, replay,
lag, consume, produce).

Every ops command takes ``--bootstrap-server`` and ``--command-config`` as
``kafka-consumer-groups.sh`` does, plus ``--timeout``; the decorated function
receives a ready :class:`~streamtest.ops.client.ClientConfig` as ``config``.
User errors become one ``Error: ...`` line on stderr and exit status 1.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from confluent_kafka import KafkaException

from ..ops.client import DEFAULT_BOOTSTRAP, ClientConfig, kafka_error_message, load_properties
from ..ops.errors import OpsError

F = TypeVar("F", bound=Callable[..., Any])


def cluster_options(fn: F) -> F:
    """Add ``--bootstrap-server``, ``--command-config`` and ``--timeout``, pass
    ``config``, and turn ops errors into one-line CLI errors."""

    @functools.wraps(fn)
    def wrapper(
        *args: Any,
        bootstrap_server: str,
        command_config: str | None,
        timeout: float,
        **kwargs: Any,
    ) -> Any:
        try:
            props = load_properties(command_config) if command_config else {}
            config = ClientConfig(bootstrap_server, props, timeout)
            return fn(*args, config=config, **kwargs)
        except OpsError as exc:
            raise click.ClickException(" ".join(str(exc).split())) from None
        except KafkaException as exc:
            raise click.ClickException(kafka_error_message(exc)) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    wrapper = click.option(
        "--timeout", type=click.FloatRange(0.1), default=10.0, show_default=True,
        help="Seconds to wait for the cluster on each operation.",
    )(wrapper)
    wrapper = click.option(
        "--command-config", type=click.Path(dir_okay=False), default=None,
        help="Client properties file (key=value lines) passed to librdkafka, "
             "e.g. security.protocol, sasl.mechanism.",
    )(wrapper)
    wrapper = click.option(
        "--bootstrap-server", default=DEFAULT_BOOTSTRAP, show_default=True,
        envvar="STREAMTEST_BOOTSTRAP_SERVER", metavar="HOST:PORT[,...]",
        help="Kafka to connect to (also $STREAMTEST_BOOTSTRAP_SERVER).",
    )(wrapper)
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
