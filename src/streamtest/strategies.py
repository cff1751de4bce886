"""Hypothesis strategies for streaming tests (needs Hypothesis installed).

    from hypothesis import given
    from streamtest.strategies import event_streams

    @given(event_streams())                      # out-of-order, late and duplicates
    def test_dedupe(stream): ...

    @given(event_streams(late=False, duplicates=False))
    def test_in_window(stream): ...

See :mod:`streamtest.kit.events` for what "out of order", "late" and "duplicate"
mean exactly.
"""

from .kit.events import Event, classify
from .kit.strategies import event_streams, events

__all__ = ["Event", "classify", "event_streams", "events"]
