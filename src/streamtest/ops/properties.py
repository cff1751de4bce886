"""Client properties files: Java's ``client.properties`` read as librdkafka settings.

``--command-config`` takes the file a Kafka user already has for
``kafka-consumer-groups.sh``. Java and librdkafka agree on most names
(``security.protocol``, ``sasl.mechanism``, ``client.id``, ...) but not on
credentials and TLS stores, so those are translated:

* ``sasl.jaas.config``: the PLAIN and SCRAM login modules become
  ``sasl.username``/``sasl.password``; Kerberos becomes ``sasl.kerberos.keytab``/
  ``sasl.kerberos.principal``; OAUTHBEARER with a token endpoint becomes
  librdkafka's OIDC settings (``sasl.oauthbearer.method=oidc``, client id, secret,
  scope).
* TLS: a PEM truststore becomes ``ssl.ca.location`` (inline certificates
  ``ssl.ca.pem``); a PKCS12 keystore stays ``ssl.keystore.location``; a PEM keystore
  becomes ``ssl.certificate.location`` and ``ssl.key.location`` (inline:
  ``ssl.certificate.pem``/``ssl.key.pem``); ``ssl.endpoint.identification.algorithm=``
  (empty, Java's "off") becomes ``none``.
* Settings only the JVM understands (``ssl.truststore.type``, key and trust manager
  algorithms, ``ssl.provider``, ``ssl.protocol``, ``ssl.enabled.protocols``) are
  dropped with a warning, since OpenSSL negotiates those itself.

What cannot be translated fails with one line that says why and what to do
instead: a JKS store (librdkafka reads PEM and PKCS12 only), a Java class name
(callback handlers, engine factories), an unknown login module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InvalidInputError

_JAVA_ONLY = (
    "ssl.truststore.type",
    "ssl.keystore.type",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.secure.random.implementation",
    "ssl.provider",
    "ssl.protocol",
    "ssl.enabled.protocols",
)
_CLASS_KEYS = (
    "sasl.login.callback.handler.class",
    "sasl.client.callback.handler.class",
    "sasl.login.class",
    "ssl.engine.factory.class",
    "security.providers",
)


@dataclass
class Translated:
    """librdkafka properties made from a Java properties file, and what was dropped."""

    properties: dict[str, str]
    warnings: list[str] = field(default_factory=list)


def read_properties_text(text: str, where: str = "properties") -> dict[str, str]:
    """Parse Java ``.properties`` text: ``key=value``, ``key: value`` or ``key value``
    lines, ``#``/``!`` comments, a trailing ``\\`` continuing a line, and the
    escapes ``\\=``, ``\\:``, ``\\ ``, ``\\t``, ``\\n`` and ``\\uXXXX``.

    Raises:
        InvalidInputError: a line has no key.
    """
    props: dict[str, str] = {}
    logical: list[tuple[int, str]] = []
    pending, start = "", 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.lstrip() if pending else raw.strip()
        if not pending and (not line or line[0] in "#!"):
            continue
        if not pending:
            start = lineno
        # An odd number of trailing backslashes continues the line.
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending += line[:-1]
            continue
        logical.append((start, pending + line))
        pending = ""
    if pending:
        logical.append((start, pending))
    for lineno, line in logical:
        m = re.match(r"((?:\\.|[^=:\s\\])+)\s*[=:\s]?\s*(.*)$", line)
        if m is None or not m.group(1):
            raise InvalidInputError(f"{where}:{lineno}: property without a name")
        props[_unescape(m.group(1))] = _unescape(m.group(2).rstrip())
    return props


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        c = m.group(1)
        if c.startswith("u"):
            return chr(int(c[1:], 16))
        return {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(c, c)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", one, text)


def read_properties_file(path: str | Path) -> dict[str, str]:
    """Read a Java-style ``.properties`` file (see :func:`read_properties_text`).

    Raises:
        InvalidInputError: the file cannot be read or a line has no key.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"cannot read {path}: not UTF-8 text") from None
    return read_properties_text(text, str(path))


_JAAS = re.compile(
    r"^\s*(?P<module>[\w.$]+)\s+(?P<flag>required|requisite|sufficient|optional)"
    r"(?P<options>.*?);?\s*$",
    re.DOTALL,
)
_JAAS_OPTION = re.compile(r'([\w.]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]+))')


def parse_jaas(text: str) -> tuple[str, dict[str, str]]:
    """Return the login module class and its options from a ``sasl.jaas.config`` value.

    Raises:
        InvalidInputError: not ``<LoginModule> <flag> key="value" ...;``.
    """
    m = _JAAS.match(text)
    if m is None:
        raise InvalidInputError(
            "sasl.jaas.config is not '<LoginModule> required key=\"value\" ...;'"
        )
    options = {}
    for opt in _JAAS_OPTION.finditer(m.group("options")):
        quoted = opt.group(2)
        options[opt.group(1)] = (
            re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else opt.group(3)
        )
    return m.group("module"), options


def translate_java_properties(props: Mapping[str, str]) -> Translated:
    """Translate Java client properties into librdkafka's (see the module docstring);
    properties whose names librdkafka shares pass through unchanged.

    Raises:
        InvalidInputError: a property that librdkafka cannot honour; the message
            says what to use instead.
    """
    out = dict(props)
    warnings: list[str] = []
    for key in _CLASS_KEYS:
        if key in out:
            raise InvalidInputError(
                f"{key} names a Java class, which librdkafka cannot load; remove it "
                "(librdkafka has its own settings for SASL and TLS)"
            )
    if "sasl.jaas.config" in out:
        _translate_jaas(out, out.pop("sasl.jaas.config"))
    _translate_tls(out, warnings)
    for key in _JAVA_ONLY:
        if key in out:
            warnings.append(f"{key} is a JVM setting with no librdkafka equivalent; ignored")
            del out[key]
    return Translated(out, warnings)


def _translate_jaas(out: dict[str, str], jaas: str) -> None:
    module, options = parse_jaas(jaas)
    name = module.rsplit(".", 1)[-1]
    mechanism = out.get("sasl.mechanism", out.get("sasl.mechanisms", "")).upper()
    if name == "PlainLoginModule":
        if mechanism not in ("", "PLAIN"):
            raise InvalidInputError(
                f"sasl.jaas.config uses PlainLoginModule but sasl.mechanism is {mechanism}"
            )
        out.setdefault("sasl.mechanism", "PLAIN")
        _credentials(out, options, module)
    elif name == "ScramLoginModule":
        if mechanism not in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
            raise InvalidInputError(
                "sasl.jaas.config uses ScramLoginModule: set sasl.mechanism to "
                "SCRAM-SHA-256 or SCRAM-SHA-512"
            )
        _credentials(out, options, module)
    elif name == "Krb5LoginModule":
        out.setdefault("sasl.mechanism", "GSSAPI")
        if "keyTab" in options:
            out["sasl.kerberos.keytab"] = options["keyTab"]
        if "principal" in options:
            out["sasl.kerberos.principal"] = options["principal"]
    elif name == "OAuthBearerLoginModule":
        endpoint = out.get("sasl.oauthbearer.token.endpoint.url") or out.pop(
            "sasl.oauthbearer.token.endpoint.uri", ""
        )
        if not endpoint or "clientId" not in options:
            raise InvalidInputError(
                "OAUTHBEARER: librdkafka fetches tokens itself only from an OIDC token "
                "endpoint: set sasl.oauthbearer.token.endpoint.url and clientId/"
                "clientSecret in sasl.jaas.config"
            )
        out.setdefault("sasl.mechanism", "OAUTHBEARER")
        out["sasl.oauthbearer.method"] = "oidc"
        out["sasl.oauthbearer.token.endpoint.url"] = endpoint
        out["sasl.oauthbearer.client.id"] = options["clientId"]
        if "clientSecret" in options:
            out["sasl.oauthbearer.client.secret"] = options["clientSecret"]
        if "scope" in options:
            out["sasl.oauthbearer.scope"] = options["scope"]
    else:
        raise InvalidInputError(
            f"sasl.jaas.config: login module {module} has no librdkafka equivalent "
            "(PLAIN, SCRAM, Kerberos and OAUTHBEARER/OIDC are translated)"
        )


def _credentials(out: dict[str, str], options: Mapping[str, str], module: str) -> None:
    if "username" not in options or "password" not in options:
        raise InvalidInputError(f"sasl.jaas.config: {module} needs username= and password=")
    out["sasl.username"] = options["username"]
    out["sasl.password"] = options["password"]


def _store_type(out: dict[str, str], key: str, location: str) -> str:
    """Return (and consume) the store type: given, else guessed from the file name."""
    given = out.pop(key, "").upper()
    if given:
        return given
    lower = location.lower()
    if lower.endswith((".p12", ".pfx")):
        return "PKCS12"
    if lower.endswith((".pem", ".crt", ".cer")):
        return "PEM"
    return "JKS"  # Java's default store type


def _translate_tls(out: dict[str, str], warnings: list[str]) -> None:
    if "ssl.truststore.location" in out:
        location = out.pop("ssl.truststore.location")
        kind = _store_type(out, "ssl.truststore.type", location)
        out.pop("ssl.truststore.password", None)
        if kind != "PEM":
            raise InvalidInputError(
                f"ssl.truststore.location is a {kind} store, which librdkafka cannot read: "
                "export the CA certificates as PEM (keytool -exportcert -rfc) and set "
                "ssl.ca.location"
            )
        out["ssl.ca.location"] = location
    if "ssl.truststore.certificates" in out:
        out["ssl.ca.pem"] = out.pop("ssl.truststore.certificates")
    if "ssl.keystore.location" in out:
        location = out["ssl.keystore.location"]
        kind = _store_type(out, "ssl.keystore.type", location)
        if kind == "PEM":
            del out["ssl.keystore.location"]
            out["ssl.certificate.location"] = location
            out["ssl.key.location"] = location
            if "ssl.keystore.password" in out:
                out.setdefault("ssl.key.password", out.pop("ssl.keystore.password"))
        elif kind != "PKCS12":
            raise InvalidInputError(
                f"ssl.keystore.location is a {kind} store, which librdkafka cannot read: "
                "convert it to PKCS12 (keytool -importkeystore -deststoretype PKCS12) "
                "or to PEM files (ssl.certificate.location, ssl.key.location)"
            )
    if "ssl.keystore.certificate.chain" in out:
        out["ssl.certificate.pem"] = out.pop("ssl.keystore.certificate.chain")
    if "ssl.keystore.key" in out:
        out["ssl.key.pem"] = out.pop("ssl.keystore.key")
    if out.get("ssl.endpoint.identification.algorithm", None) == "":
        out["ssl.endpoint.identification.algorithm"] = "none"
    if "ssl.cipher.suites" in out:
        warnings.append(
            "ssl.cipher.suites is passed on as is: librdkafka takes OpenSSL cipher names, "
            "which differ from Java's"
        )
