"""``streamtest registry``: talk to a Confluent-compatible schema registry (ours or
Confluent's) from the command line.

Registry errors become one ``Error: <message> (<error_code>)`` line and exit status 1.
"""

from __future__ import annotations

import functools
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ._app import main

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_URL = "http://localhost:8081"
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
_TYPES_BY_SUFFIX = {".avsc": "AVRO", ".avro": "AVRO", ".json": "JSON", ".proto": "PROTOBUF"}


class Registry:
    """A minimal JSON client for the registry's REST API (stdlib only)."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        """Send one request and return the decoded JSON answer.

        Raises:
            click.ClickException: the registry refused, or cannot be reached.
        """
        params = {
            k: ("true" if v is True else v) for k, v in query.items() if v not in (None, False)
        }
        target = self.url + path + (("?" + urllib.parse.urlencode(params)) if params else "")
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(target, data=data, method=method)
        req.add_header("Accept", CONTENT_TYPE)
        if data is not None:
            req.add_header("Content-Type", CONTENT_TYPE)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            try:
                err = json.loads(exc.read())
                message = f"{err.get('message')} ({err.get('error_code')})"
            except ValueError:
                message = f"HTTP {exc.code} {exc.reason}"
            raise click.ClickException(" ".join(message.split())) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise click.ClickException(
                f"cannot reach the schema registry at {self.url}: {reason}"
            ) from None
        return json.loads(raw) if raw else None


def quote(subject: str) -> str:
    """Return ``subject`` escaped for a path segment (``/`` included)."""
    return urllib.parse.quote(subject, safe="")


def registry_options(fn: F) -> F:
    """Add ``--url`` and ``--timeout`` and pass ``registry``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, url: str, timeout: float, **kwargs: Any) -> Any:
        return fn(*args, registry=Registry(url, timeout), **kwargs)

    wrapper = click.option(
        "--timeout",
        type=click.FloatRange(0.1),
        default=30.0,
        show_default=True,
        help="Seconds to wait for an answer.",
    )(wrapper)
    wrapper = click.option(
        "--url",
        default=DEFAULT_URL,
        show_default=True,
        envvar="STREAMTEST_SCHEMA_REGISTRY_URL",
        metavar="URL",
        help="The schema registry (also $STREAMTEST_SCHEMA_REGISTRY_URL).",
    )(wrapper)
    return wrapper  # type: ignore[return-value]


def _print_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False))


def _read_schema(source: str, schema_type: str | None) -> tuple[str, str]:
    if source == "-":
        text = sys.stdin.read()
        return text, (schema_type or "AVRO")
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot read {source}: {exc.strerror}") from None
    return text, (schema_type or _TYPES_BY_SUFFIX.get(path.suffix.lower(), "AVRO"))


def _references(values: tuple[str, ...]) -> list[dict[str, Any]]:
    refs = []
    for v in values:
        name, _, rest = v.partition("=")
        subject, _, version = rest.rpartition(":")
        if not name or not subject or not version.lstrip("-").isdigit():
            raise click.BadParameter(
                f"{v!r}: expected NAME=SUBJECT:VERSION", param_hint="--reference"
            )
        refs.append({"name": name, "subject": subject, "version": int(version)})
    return refs


def _schema_body(
    source: str, schema_type: str | None, references: tuple[str, ...]
) -> dict[str, Any]:
    text, kind = _read_schema(source, schema_type)
    body: dict[str, Any] = {"schema": text, "schemaType": kind}
    if references:
        body["references"] = _references(references)
    return body


_schema_type = click.option(
    "--type",
    "schema_type",
    type=click.Choice(["AVRO", "JSON", "PROTOBUF"], case_sensitive=False),
    default=None,
    help="Schema type (default: from the file suffix, .avsc/.json/.proto; else AVRO).",
)
_reference = click.option(
    "--reference",
    "references",
    multiple=True,
    metavar="NAME=SUBJECT:VERSION",
    help="A schema reference; repeatable.",
)


@main.group("registry")
def registry_group() -> None:
    """Inspect and change a schema registry (subjects, versions, compatibility)."""


@registry_group.command("subjects")
@click.option("--prefix", default=None, help="Only subjects starting with this.")
@click.option("--deleted", is_flag=True, help="Include soft-deleted subjects.")
@registry_options
def subjects(registry: Registry, prefix: str | None, deleted: bool) -> None:
    """List subjects, one per line."""
    for s in registry.call("GET", "/subjects", subjectPrefix=prefix, deleted=deleted):
        click.echo(s)


@registry_group.command("versions")
@click.argument("subject")
@click.option("--deleted", is_flag=True, help="Include soft-deleted versions.")
@registry_options
def versions(registry: Registry, subject: str, deleted: bool) -> None:
    """List a subject's versions, one per line."""
    for v in registry.call("GET", f"/subjects/{quote(subject)}/versions", deleted=deleted):
        click.echo(v)


@registry_group.command("get")
@click.argument("subject", required=False)
@click.argument("version", required=False, default="latest")
@click.option("--id", "schema_id", type=int, default=None, help="Get a schema by id instead.")
@click.option("--schema-only", is_flag=True, help="Print only the schema text.")
@registry_options
def get(
    registry: Registry, subject: str | None, version: str, schema_id: int | None, schema_only: bool
) -> None:
    """Print a subject's version (default latest), or a schema by --id, as JSON."""
    if schema_id is not None:
        found = registry.call("GET", f"/schemas/ids/{schema_id}")
    elif subject:
        found = registry.call("GET", f"/subjects/{quote(subject)}/versions/{quote(version)}")
    else:
        raise click.UsageError("give a SUBJECT (and VERSION) or --id")
    if schema_only:
        click.echo(found["schema"])
    else:
        _print_json(found)


@registry_group.command("register")
@click.argument("subject")
@click.argument("schema_file", metavar="FILE")
@_schema_type
@_reference
@click.option("--normalize", is_flag=True, help="Register the schema's normal form.")
@registry_options
def register(
    registry: Registry,
    subject: str,
    schema_file: str,
    schema_type: str | None,
    references: tuple[str, ...],
    normalize: bool,
) -> None:
    """Register the schema in FILE (- for stdin) under SUBJECT; print its id."""
    body = _schema_body(schema_file, schema_type and schema_type.upper(), references)
    answer = registry.call(
        "POST", f"/subjects/{quote(subject)}/versions", body, normalize=normalize
    )
    click.echo(answer["id"])


@registry_group.command("delete")
@click.argument("subject")
@click.argument("version", required=False)
@click.option("--permanent", is_flag=True, help="Hard delete (after a soft delete).")
@registry_options
def delete(registry: Registry, subject: str, version: str | None, permanent: bool) -> None:
    """Delete a subject, or one version of it; print the versions deleted."""
    path = f"/subjects/{quote(subject)}"
    if version is not None:
        path += f"/versions/{quote(version)}"
    answer = registry.call("DELETE", path, permanent=permanent)
    for v in answer if isinstance(answer, list) else [answer]:
        click.echo(v)


@registry_group.command("check")
@click.argument("subject")
@click.argument("schema_file", metavar="FILE")
@click.option(
    "--version",
    default=None,
    help="Check against this version only (or latest); default: what the "
    "subject's compatibility level checks.",
)
@_schema_type
@_reference
@registry_options
def check(
    registry: Registry,
    subject: str,
    schema_file: str,
    version: str | None,
    schema_type: str | None,
    references: tuple[str, ...],
) -> None:
    """Would FILE be accepted under SUBJECT? Exit 0 if compatible, 1 if not."""
    body = _schema_body(schema_file, schema_type and schema_type.upper(), references)
    path = f"/compatibility/subjects/{quote(subject)}/versions"
    if version is not None:
        path += f"/{quote(version)}"
    answer = registry.call("POST", path, body, verbose=True)
    if answer["is_compatible"]:
        click.echo("compatible")
        return
    click.echo("incompatible")
    for message in answer.get("messages") or []:
        click.echo(f"  {message}")
    sys.exit(1)


@registry_group.command("config")
@click.argument("subject", required=False)
@click.option(
    "--set",
    "level",
    default=None,
    metavar="LEVEL",
    help="Set the compatibility level (NONE, BACKWARD, ..., FULL_TRANSITIVE).",
)
@click.option("--delete", "remove", is_flag=True, help="Drop the subject's own setting.")
@registry_options
def config(registry: Registry, subject: str | None, level: str | None, remove: bool) -> None:
    """Show or set the compatibility level, global or of SUBJECT."""
    path = "/config" + (f"/{quote(subject)}" if subject else "")
    if remove:
        registry.call("DELETE", path)
    elif level is not None:
        registry.call("PUT", path, {"compatibility": level.upper()})
    answer = registry.call("GET", path, defaultToGlobal=True)
    click.echo(answer["compatibilityLevel"])
