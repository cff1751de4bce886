"""Customer records, their validation, and the churn model: pure functions, no I/O.

A customer record is one JSON object per Kafka message, keyed by ``customer_id``::

    {"customer_id": "C00042", "version": 3, "event_id": "e-42-3",
     "tenure_months": 14, "monthly_charges": 79.5, "total_charges": 1113.0,
     "contract": "month-to-month", "internet_service": "fiber",
     "support_calls": 4, "paperless_billing": true}

``version`` grows with every change to a customer, so the sink can tell a late,
older update from a newer one. ``event_id`` is optional: a record without one is
named by its Kafka coordinates (``topic:partition:offset``) in logs and outputs.

:func:`parse_customer` turns raw bytes into a :class:`Customer` or raises
:class:`InvalidRecord` naming what is wrong, with an ``error_type`` from
:data:`ERROR_TYPES` that the dead-letter queue carries. :func:`predict` applies a
fixed logistic model: no ML library, and the same input always gives the same
probability, which the scenario suite relies on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

#: Carried in every prediction, so a consumer can tell which model produced it.
MODEL_VERSION = "churn-logit-1.0"

#: What ``InvalidRecord.error_type`` can be.
ERROR_TYPES = (
    "invalid_encoding",  # the value is not UTF-8 (or is null)
    "invalid_json",  # not JSON, or JSON but not an object
    "missing_field",
    "wrong_type",
    "out_of_range",  # a number outside its range, or an unknown category
)

CONTRACTS = ("month-to-month", "one-year", "two-year")
INTERNET_SERVICES = ("none", "dsl", "fiber")


class InvalidRecord(ValueError):
    """A record the pipeline cannot score; it goes to the dead-letter topic.

    Attributes:
        error_type: one of :data:`ERROR_TYPES`.
        field: the offending field, when there is one.
    """

    def __init__(self, error_type: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.field = field


@dataclass(frozen=True, slots=True)
class Customer:
    """A validated customer record."""

    customer_id: str
    version: int
    tenure_months: int
    monthly_charges: float
    total_charges: float
    contract: str
    internet_service: str
    support_calls: int
    paperless_billing: bool
    event_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the record as the JSON object it was (or would be) sent as."""
        data: dict[str, Any] = {
            "customer_id": self.customer_id,
            "version": self.version,
            "tenure_months": self.tenure_months,
            "monthly_charges": self.monthly_charges,
            "total_charges": self.total_charges,
            "contract": self.contract,
            "internet_service": self.internet_service,
            "support_calls": self.support_calls,
            "paperless_billing": self.paperless_billing,
        }
        if self.event_id is not None:
            data["event_id"] = self.event_id
        return data


@dataclass(frozen=True, slots=True)
class Prediction:
    """The model's output for one customer record."""

    customer_id: str
    version: int
    churn_probability: float
    prediction: int
    model_version: str


# -- validation ---------------------------------------------------------------------------

# (field, accepted types, check, description of the valid range). Types are
# compared exactly, so ``True`` is no integer and a subclass of str is refused.
# The range checks are false for NaN, and infinities are out of every range.
_INT = (int,)
_NUMBER = (int, float)


def _in(low: float, high: float) -> Any:
    return lambda v: low <= v <= high


_FIELDS: tuple[tuple[str, tuple[type, ...], Any, str], ...] = (
    ("customer_id", (str,), lambda v: 0 < len(v) <= 64, "1 to 64 characters"),
    ("version", _INT, _in(0, 2**53), "0 to 2**53"),
    ("tenure_months", _INT, _in(0, 1200), "0 to 1200"),
    ("monthly_charges", _NUMBER, _in(0.0, 10_000.0), "0 to 10000"),
    ("total_charges", _NUMBER, _in(0.0, 10_000_000.0), "0 to 10000000"),
    ("contract", (str,), lambda v: v in CONTRACTS, f"one of {', '.join(CONTRACTS)}"),
    (
        "internet_service",
        (str,),
        lambda v: v in INTERNET_SERVICES,
        f"one of {', '.join(INTERNET_SERVICES)}",
    ),
    ("support_calls", _INT, _in(0, 1000), "0 to 1000"),
    ("paperless_billing", (bool,), lambda v: True, "true or false"),
)


def _type_name(types: tuple[type, ...]) -> str:
    names = {int: "integer", float: "number", str: "string", bool: "boolean"}
    return " or ".join(names[t] for t in types)


def parse_customer(raw: bytes | None) -> Customer:
    """Return the customer record encoded in ``raw`` (a Kafka message value).

    Raises:
        InvalidRecord: ``raw`` is null, not UTF-8, not a JSON object, lacks a field,
            has a field of the wrong type, or a value out of range. The first problem
            found is reported.
    """
    if raw is None:
        raise InvalidRecord("invalid_encoding", "the value is null (a tombstone)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRecord("invalid_encoding", f"the value is not UTF-8: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRecord("invalid_json", f"the value is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidRecord("invalid_json", f"expected a JSON object, got {type(data).__name__}")
    values: dict[str, Any] = {}
    for name, types, check, valid in _FIELDS:
        value = data.get(name)
        if value is None:
            raise InvalidRecord("missing_field", f"field {name!r} is missing", name)
        # bool is a subclass of int: only the boolean field may hold one.
        if type(value) not in types:
            raise InvalidRecord(
                "wrong_type",
                f"field {name!r} must be a {_type_name(types)}, got {type(value).__name__} "
                f"{value!r}",
                name,
            )
        if not check(value):
            raise InvalidRecord(
                "out_of_range", f"field {name!r} is {value!r}, expected {valid}", name
            )
        values[name] = value
    event_id = data.get("event_id")
    if event_id is not None and not isinstance(event_id, str):
        raise InvalidRecord(
            "wrong_type", f"field 'event_id' must be a string, got {event_id!r}", "event_id"
        )
    values["monthly_charges"] = float(values["monthly_charges"])
    values["total_charges"] = float(values["total_charges"])
    return Customer(event_id=event_id, **values)


# -- the model ----------------------------------------------------------------------------

#: Logistic-regression weights. They are made up, but shaped like the published
#: telco-churn findings: short tenure, month-to-month contracts, fibre, many
#: support calls and high charges raise churn; long contracts lower it.
INTERCEPT = -1.2
WEIGHTS: dict[str, float] = {
    "tenure_years": -0.45,
    "monthly_charges_per_100": 1.1,
    "support_calls": 0.35,
    "paperless_billing": 0.3,
}
CONTRACT_WEIGHTS: dict[str, float] = {"month-to-month": 0.9, "one-year": -0.5, "two-year": -1.6}
INTERNET_WEIGHTS: dict[str, float] = {"none": -0.6, "dsl": 0.0, "fiber": 0.55}
#: A customer at or above this probability is predicted to churn.
THRESHOLD = 0.5


def churn_probability(customer: Customer) -> float:
    """Return the model's churn probability for ``customer``, in [0, 1]."""
    z = (
        INTERCEPT
        + WEIGHTS["tenure_years"] * customer.tenure_months / 12
        + WEIGHTS["monthly_charges_per_100"] * customer.monthly_charges / 100
        + WEIGHTS["support_calls"] * min(customer.support_calls, 20)
        + WEIGHTS["paperless_billing"] * customer.paperless_billing
        + CONTRACT_WEIGHTS[customer.contract]
        + INTERNET_WEIGHTS[customer.internet_service]
    )
    # Clamp z so exp() cannot overflow; the probability is then 0 or 1 to 15 digits.
    z = max(-35.0, min(35.0, z))
    return 1.0 / (1.0 + math.exp(-z))


def predict(customer: Customer) -> Prediction:
    """Return the model's :class:`Prediction` for ``customer``."""
    p = churn_probability(customer)
    return Prediction(
        customer_id=customer.customer_id,
        version=customer.version,
        churn_probability=round(p, 6),
        prediction=int(p >= THRESHOLD),
        model_version=MODEL_VERSION,
    )
