"""The root ``streamtest`` click group; subcommands live in ``cmd_*.py`` modules."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="streamtest")
def main() -> None:
    """streamtest: an embedded Kafka broker, test kit and ops tools for Kafka."""
