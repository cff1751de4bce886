"""The spark and flink fixtures where the engine cannot run: one line, then skip.

pytester runs these in this process, so the conftests below undo what they change
(through a session-scoped autouse fixture, which runs before the fixture under
test is set up).
"""

from __future__ import annotations

import pytest

HIDE_MODULES = """
import sys, pytest

@pytest.fixture(autouse=True, scope="session")
def _hidden():
    with pytest.MonkeyPatch.context() as mp:
        for name in {names!r}:
            mp.setitem(sys.modules, name, None)  # "import name" now fails
        yield
"""

NO_JAVA = """
import pytest

@pytest.fixture(autouse=True, scope="session")
def _no_java():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JAVA_HOME", "/nonexistent")
        mp.setenv("PATH", "/nonexistent")
        yield
"""


def test_spark_fixture_skips_with_one_line_without_pyspark(pytester: pytest.Pytester):
    pytester.makeconftest(HIDE_MODULES.format(names=["pyspark"]))
    pytester.makepyfile("def test_uses_spark(spark):\n    raise AssertionError('ran')\n")
    result = pytester.runpytest("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)
    assert "spark: pyspark is not installed: pip install 'streamtest[spark]'" in (
        result.stdout.str()
    )


def test_flink_fixtures_skip_with_one_line_without_pyflink(pytester: pytest.Pytester):
    pytester.makeconftest(HIDE_MODULES.format(names=["pyflink", "pyflink.version"]))
    pytester.makepyfile(
        "def test_table(flink_table_env):\n    raise AssertionError('ran')\n"
        "def test_stream(flink_stream_env):\n    raise AssertionError('ran')\n"
    )
    result = pytester.runpytest("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=2)
    assert "flink: pyflink is not installed: pip install 'streamtest[flink]'" in (
        result.stdout.str()
    )


@pytest.mark.parametrize("fixture", ["spark", "flink_table_env"])
def test_engine_fixtures_skip_with_one_line_without_java(pytester: pytest.Pytester, fixture):
    pytest.importorskip("pyspark" if fixture == "spark" else "pyflink")
    pytester.makeconftest(NO_JAVA)
    pytester.makepyfile(f"def test_engine({fixture}):\n    raise AssertionError('ran')\n")
    result = pytester.runpytest("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs Java 17 or newer, and none was found*"])


def test_import_streamtest_and_its_plugin_import_no_engine():
    import subprocess
    import sys

    code = (
        "import sys, streamtest, streamtest.pytest_plugin, streamtest.kit.factories\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('pyspark', 'pyflink', 'py4j')]\n"
        "print('LOADED', loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "LOADED []" in out.stdout


def test_the_broker_modules_the_spark_fixture_preloads_exist() -> None:
    # The preload is an optimisation that must follow the broker's layout: a moved
    # module would otherwise make every Spark session's first broker start slower.
    import importlib

    from streamtest.kit.factories import BROKER_MODULES

    for name in BROKER_MODULES:
        importlib.import_module(name)
