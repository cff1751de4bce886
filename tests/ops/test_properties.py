"""--command-config: Java client.properties files are read as librdkafka settings, or
refused with one line that says why (no broker needed for most of these)."""

from __future__ import annotations

import pytest

from streamtest.ops.errors import InvalidInputError
from streamtest.ops.properties import (
    parse_jaas,
    read_properties_text,
    translate_java_properties,
)

PLAIN = (
    "security.protocol=SASL_SSL\n"
    "sasl.mechanism=PLAIN\n"
    "# a comment\n"
    "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\\n"
    '    username="alice" \\\n'
    '    password="s3cr=t;x";\n'
    "ssl.truststore.location=/etc/kafka/ca.pem\n"
    "ssl.truststore.type=PEM\n"
    "ssl.endpoint.identification.algorithm=\n"
    "client.id : ops-cli\n"
)


def test_java_properties_syntax():
    props = read_properties_text(
        "a=1\nb: 2\nc 3\n! bang comment\nd = x\\\n   y\ne=\\u00e9\\=\\:\nf\n"
    )
    assert props == {"a": "1", "b": "2", "c": "3", "d": "xy", "e": "é=:", "f": ""}


def test_plain_jaas_and_pem_truststore_are_translated():
    t = translate_java_properties(read_properties_text(PLAIN))
    assert t.properties == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "alice",
        "sasl.password": "s3cr=t;x",
        "ssl.ca.location": "/etc/kafka/ca.pem",
        "ssl.endpoint.identification.algorithm": "none",
        "client.id": "ops-cli",
    }
    assert t.warnings == []


def test_scram_needs_its_mechanism_and_keeps_it():
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="u" password="p";'
    )
    t = translate_java_properties({"sasl.mechanism": "SCRAM-SHA-512", "sasl.jaas.config": jaas})
    assert t.properties == {
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "u",
        "sasl.password": "p",
    }
    with pytest.raises(InvalidInputError, match="set sasl.mechanism to SCRAM-SHA-256 or"):
        translate_java_properties({"sasl.jaas.config": jaas})


def test_pkcs12_keystore_passes_and_pem_keystore_is_split():
    t = translate_java_properties(
        {
            "ssl.keystore.location": "/k/client.p12",
            "ssl.keystore.password": "pw",
            "ssl.keystore.type": "PKCS12",
        }
    )
    assert t.properties == {"ssl.keystore.location": "/k/client.p12", "ssl.keystore.password": "pw"}
    assert t.warnings == []
    pem = translate_java_properties(
        {
            "ssl.keystore.location": "/k/client.pem",
            "ssl.keystore.type": "PEM",
            "ssl.key.password": "kp",
        }
    )
    assert pem.properties == {
        "ssl.certificate.location": "/k/client.pem",
        "ssl.key.location": "/k/client.pem",
        "ssl.key.password": "kp",
    }


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"ssl.truststore.location": "/x/truststore.jks", "ssl.truststore.password": "p"},
            "ssl.truststore.location is a JKS store, which librdkafka cannot read: export",
        ),
        (
            {"ssl.keystore.location": "/x/keystore.jks"},
            "ssl.keystore.location is a JKS store, which librdkafka cannot read: convert",
        ),
        (
            {"sasl.login.callback.handler.class": "com.example.Handler"},
            "names a Java class, which librdkafka cannot load",
        ),
        (
            {"sasl.jaas.config": "com.example.MyLoginModule required;"},
            "login module com.example.MyLoginModule has no librdkafka equivalent",
        ),
        ({"sasl.jaas.config": "nonsense"}, "sasl.jaas.config is not"),
        (
            {
                "sasl.mechanism": "PLAIN",
                "sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule "
                'required username="u";',
            },
            "needs username= and password=",
        ),
    ],
)
def test_untranslatable_settings_fail_with_one_line(props, message):
    with pytest.raises(InvalidInputError) as exc:
        translate_java_properties(props)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_kerberos_and_oidc():
    krb = translate_java_properties(
        {
            "sasl.jaas.config": "com.sun.security.auth.module.Krb5LoginModule required "
            'useKeyTab=true keyTab="/etc/k.keytab" principal="svc@EXAMPLE.COM";'
        }
    )
    assert krb.properties == {
        "sasl.mechanism": "GSSAPI",
        "sasl.kerberos.keytab": "/etc/k.keytab",
        "sasl.kerberos.principal": "svc@EXAMPLE.COM",
    }
    oidc = translate_java_properties(
        {
            "sasl.mechanism": "OAUTHBEARER",
            "sasl.oauthbearer.token.endpoint.url": "https://idp/token",
            "sasl.jaas.config": "org.apache.kafka.common.security.oauthbearer."
            'OAuthBearerLoginModule required clientId="c" clientSecret="s" scope="kafka";',
        }
    )
    assert oidc.properties["sasl.oauthbearer.method"] == "oidc"
    assert oidc.properties["sasl.oauthbearer.client.id"] == "c"
    assert oidc.properties["sasl.oauthbearer.scope"] == "kafka"


def test_jaas_options_keep_quoted_semicolons():
    module, opts = parse_jaas('a.B required x="1;2" y=3 z="say \\"hi\\"";')
    assert module == "a.B" and opts == {"x": "1;2", "y": "3", "z": 'say "hi"'}


def test_cli_reads_a_java_client_properties_file(make_topic, cli, tmp_path):
    # The embedded broker listens in PLAINTEXT; the file's client.id and the
    # translated (unused) credentials must not stop the command.
    topic = make_topic(partitions=1, per_partition=2)
    path = tmp_path / "client.properties"
    path.write_text("client.id=ops\nssl.truststore.type=PEM\nsecurity.protocol=PLAINTEXT\n")
    res = cli.ok("offsets", "query", "--topic", topic, "--command-config", str(path))
    assert res.stdout == f"{topic}:0:2\n"
    assert "ssl.truststore.type is a JVM setting" in res.stderr
    path.write_text("ssl.truststore.location=/x/ts.jks\n")
    bad = cli("offsets", "query", "--topic", topic, "--command-config", str(path))
    assert bad.exit_code == 1 and bad.stderr.count("\n") == 1
    assert "JKS store, which librdkafka cannot read" in bad.stderr


def test_bootstrap_server_spellings_and_environment(make_topic, bootstrap, monkeypatch):
    from click.testing import CliRunner

    from streamtest.cli import main

    topic = make_topic(partitions=1, per_partition=1)
    runner = CliRunner()
    plural = runner.invoke(
        main, ["offsets", "query", "--topic", topic, "--bootstrap-servers", bootstrap]
    )
    assert plural.exit_code == 0 and plural.stdout == f"{topic}:0:1\n"
    for name in ("STREAMTEST_BOOTSTRAP_SERVER", "STREAMTEST_BOOTSTRAP_SERVERS"):
        res = runner.invoke(main, ["offsets", "query", "--topic", topic], env={name: bootstrap})
        assert res.exit_code == 0 and res.stdout == f"{topic}:0:1\n", name
    both = runner.invoke(
        main,
        ["offsets", "query", "--topic", topic],
        env={"STREAMTEST_BOOTSTRAP_SERVER": bootstrap, "STREAMTEST_BOOTSTRAP_SERVERS": "x:1"},
    )
    assert both.exit_code == 1 and "disagree" in both.stderr
    help_text = runner.invoke(main, ["offsets", "query", "--help"]).stdout
    assert "--bootstrap-server HOST:PORT" in help_text
    assert "--bootstrap-servers" not in help_text  # accepted, documented once
    assert "--timeout SECONDS" in help_text
