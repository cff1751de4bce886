"""What a failing ``eventually`` / ``assert_eventually`` shows in pytest: one
assertion naming the check, expected and last value (or the last error and where
it was raised), without streamtest's own frames or a chained traceback."""

from __future__ import annotations

import re

import pytest

from streamtest import assert_eventually, eventually

CASES = """
from streamtest import assert_eventually, eventually

records = ["only one"]


def test_readme_pattern():
    eventually(lambda: len(records) == 2, timeout=0.2)


def test_equals():
    eventually(lambda: len(records), equals=2, timeout=0.2)


def test_check_function_with_assert():
    def check():
        assert len(records) == 2

    eventually(check, timeout=0.2)


def test_raising_check():
    eventually(lambda: {}["missing"], timeout=0.2)


def test_assert_eventually():
    assert_eventually(lambda: len(records), 2, timeout=0.2)
"""


@pytest.fixture
def failures(pytester: pytest.Pytester) -> pytest.RunResult:
    pytester.makepyfile(test_waits=CASES)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=5)
    return result


def test_no_library_frames_and_no_chained_traceback(failures):
    out = failures.stdout.str()
    assert "wait.py" not in out
    assert "direct cause" not in out and "During handling" not in out
    # Each failure is the test's own lines plus the one assertion.
    sections = out.split("_____ test_")[1:]
    assert len(sections) == 5
    for section in sections:
        lines = section.splitlines()
        assert sum("eventually:" in ln for ln in lines if ln.startswith("E ")) == 1, section
        # The failure is reported at the test's own line, not inside streamtest.
        assert re.search(r"^test_waits.py:\d+: AssertionError$", section, re.M), section


def test_messages_name_the_check_expected_and_last_value(failures):
    failures.stdout.fnmatch_lines_random(
        [
            "E*AssertionError: eventually: len(records) == 2 still not true within 0.2s "
            "(* attempts); last value: False",
            "E*AssertionError: eventually: len(records) == 2 not reached within 0.2s "
            "(* attempts); last value: 1",
            "E*AssertionError: eventually: check() still not true within 0.2s (* attempts); "
            "last error (at test_waits.py:16): AssertionError:",
            "E*assert 1 == 2",
            "E*where 1 = len([[]'only one'])",
            'E*AssertionError: eventually: {}[[]"missing"] still not true within 0.2s '
            "(* attempts); last error (at test_waits.py:22): KeyError: 'missing'",
            "E*AssertionError: eventually: len(records) == 2 not reached within 0.2s "
            "(* attempts); last value: 1",
        ]
    )


def test_the_error_keeps_the_last_value_and_exception():
    with pytest.raises(AssertionError) as info:
        eventually(lambda: 1, equals=2, timeout=0.05)
    assert info.value.last_value == 1 and info.value.attempts >= 1
    assert info.value.__cause__ is None
    with pytest.raises(AssertionError) as info:
        eventually(lambda: int("x"), timeout=0.05)
    assert isinstance(info.value.last_exception, ValueError)


def test_equals_returns_the_matching_value_and_assert_eventually_too():
    seen = iter([0, 1, 2, 3])
    assert eventually(lambda: next(seen), equals=2, interval=0) == 2
    assert assert_eventually(lambda: "ok", "ok") == "ok"
