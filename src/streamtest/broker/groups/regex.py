"""KIP-848 regular-expression subscriptions, resolved as Kafka 4.x resolves them.

A consumer that subscribes with a pattern sends it as ``SubscribedTopicRegex``;
the coordinator, not the client, turns it into topics. Kafka does this
asynchronously (``GroupMetadataManager.maybeUpdateRegularExpressions``, KIP-848):

* a pattern no member of the group used before is resolved off the heartbeat's
  path, so the heartbeat that brings it does not see its topics; once resolved,
  the group epoch moves if the subscribed topics changed, and the next heartbeat
  gets the new assignment;
* patterns already in use are re-resolved only when a heartbeat arrives at least
  :data:`REFRESH_INTERVAL_MS` after the last resolution and the topics have
  changed since (Kafka compares metadata image versions), so a new matching topic
  is picked up on a heartbeat up to ten seconds later, not at once;
* a pattern matches a whole topic name (RE2J's ``matches()``); internal topics are
  not matched.

Kafka's patterns are RE2J's. Python's ``re`` reads the RE2 syntax the same way,
and :func:`check` refuses what RE2 does not have (look-around, back-references,
atomic groups, conditionals), which Kafka answers with INVALID_REGULAR_EXPRESSION.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

#: Kafka's minimum time between two refreshes of a group's patterns (ms).
REFRESH_INTERVAL_MS = 10_000

_NOT_RE2 = re.compile(
    r"\(\?(?:=|!|<=|<!|>|\(|P=)"  # look-around, atomic groups, conditionals, (?P=name)
    r"|\\[1-9]"  # back-references
    r"|[*+?}]\+"  # possessive quantifiers
)


def check(pattern: str) -> str | None:
    """Return why ``pattern`` is not a valid RE2 pattern, or ``None``."""
    found = _NOT_RE2.search(pattern)
    if found is not None:
        return f"error parsing regexp: invalid or unsupported Perl syntax: `{found.group(0)}`"
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"error parsing regexp: {exc}"
    return None


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def resolve(pattern: str, topics: Iterable[str]) -> frozenset[str]:
    """Return the topics whose whole name ``pattern`` matches."""
    compiled = _compiled(pattern)
    return frozenset(t for t in topics if compiled.fullmatch(t))
