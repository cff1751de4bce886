"""The Kafka Streams example's input data and what the app must make of it.

The input is deterministic (fixed keys, values and event timestamps), so two runs
of the app, on two brokers, with or without a crash, can be compared record for
record. :func:`expected_outputs` is an independent model of the topology in
``OrdersApp.java`` (KStream-KTable join, then a one-minute tumbling window with 30
seconds of grace, record cache off): it says which records both runs must produce.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

#: Event time of the first order: a minute boundary, an hour ago. Fixed for the
#: whole test session, so every run gets the same input. Not a fixed date: Kafka's
#: time-based retention (7 days by default, and the window store's changelog keeps
#: a day) would delete records stamped long ago, half-way through a run.
T0 = (int(time.time()) // 60 - 60) * 60_000
WINDOW_MS = 60_000
GRACE_MS = 30_000
ORDERS = 60
#: Orders [0, FIRST_HALF) are produced before the app first starts; the rest later.
FIRST_HALF = 30

REGIONS = {"c0": "eu", "c1": "us", "c2": "apac", "c3": "eu", "c4": "us", "c5": "apac"}
#: A customer that first appears in the second half (its record precedes its orders).
LATE_CUSTOMER = ("c6", "eu")
#: An order from a customer the table never has: the inner join drops it.
UNKNOWN_CUSTOMER_ORDER = 33
#: 20 s late, within the 30 s grace: it still updates its (earlier) window.
LATE_WITHIN_GRACE = 25
#: 2 minutes late, past its window's grace: joined, but dropped by the aggregation.
LATE_PAST_GRACE = 50


@dataclass(frozen=True)
class Input:
    """One input record."""

    topic: str  # "customers" or "orders"
    key: str
    value: str
    timestamp: int


def customer_of(n: int) -> str:
    """The customer of order ``n``."""
    if n == UNKNOWN_CUSTOMER_ORDER:
        return "c9"
    if n >= FIRST_HALF and n % 5 == 0:
        return LATE_CUSTOMER[0]
    return f"c{n % 6}"


def order_timestamp(n: int) -> int:
    """Event time of order ``n``: every 6 s, with two late arrivals."""
    ts = T0 + 6_000 * n
    if n == LATE_WITHIN_GRACE:
        ts -= 20_000
    if n == LATE_PAST_GRACE:
        ts -= 120_000
    return ts


def order(n: int) -> Input:
    """Order ``n``: key ``o0NN``, value ``customer=C;amount=A``."""
    amount = (n * 37) % 200 + 10
    value = f"customer={customer_of(n)};amount={amount}"
    return Input("orders", f"o{n:04d}", value, order_timestamp(n))


def first_half() -> list[Input]:
    """Customers (timestamped before every order), then the first orders."""
    customers = [Input("customers", c, r, T0 - 10_000) for c, r in REGIONS.items()]
    return customers + [order(n) for n in range(FIRST_HALF)]


def second_half() -> list[Input]:
    """The late customer (timestamped before its orders), then the remaining orders."""
    late = Input("customers", *LATE_CUSTOMER, order_timestamp(FIRST_HALF) - 1_000)
    return [late] + [order(n) for n in range(FIRST_HALF, ORDERS)]


@dataclass(frozen=True)
class Output:
    """One output record, without its offset (which transactions shift)."""

    key: str
    value: str
    timestamp: int


def expected_outputs(inputs: list[Input]) -> tuple[list[Output], list[Output]]:
    """Return (enriched-orders, region-totals) for ``inputs``, in output order.

    enriched-orders: each order whose customer is known, keyed by customer, with
    its region. region-totals: for each enriched order, in order, the updated
    count and sum of its region's one-minute window, keyed ``region@windowStart``
    and stamped with the newest event time in the window; an order is skipped when
    its window closed (window end + grace <= stream time, the largest event time
    seen so far).
    """
    regions: dict[str, str] = {}
    enriched: list[Output] = []
    totals: list[Output] = []
    windows: dict[tuple[str, int], tuple[int, int, int]] = {}
    stream_time = -1
    # Customers precede the orders that need them (by event time, which is how
    # Kafka Streams orders the two inputs of the join), so load them first.
    for record in inputs:
        if record.topic == "customers":
            regions[record.key] = record.value
    for record in inputs:
        if record.topic != "orders":
            continue
        fields = dict(part.split("=", 1) for part in record.value.split(";"))
        customer, amount = fields["customer"], int(fields["amount"])
        region = regions.get(customer)
        if region is None:
            continue
        value = f"order={record.key};customer={customer};region={region};amount={amount}"
        enriched.append(Output(customer, value, record.timestamp))
        stream_time = max(stream_time, record.timestamp)
        start = record.timestamp - record.timestamp % WINDOW_MS
        if start + WINDOW_MS + GRACE_MS <= stream_time:
            continue  # the window has closed: Kafka Streams drops the record
        count, total, newest = windows.get((region, start), (0, 0, -1))
        count, total, newest = count + 1, total + amount, max(newest, record.timestamp)
        windows[(region, start)] = (count, total, newest)
        totals.append(Output(f"{region}@{start}", f"count={count};sum={total}", newest))
    return enriched, totals
