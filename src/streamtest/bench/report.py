"""``--html FILE``: one self-contained HTML page with the run's charts.

Charts are drawn by pygal, a small pure-Python SVG charting library (no numpy, no
browser, no JavaScript needed): each chart is inline SVG in the page, so the file
opens offline, attaches to a CI run, and needs nothing but a browser. pygal's
optional tooltip script is left out (it would be fetched from the web).

The page shows the totals, throughput over time (records/s per interval; produced
and consumed for e2e), latency percentiles per interval (p50, p99, max), and the
percentile spectrum of all latencies (p50 ... p99.99, max) from the merged HDR
histogram.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from ..ops.errors import InvalidInputError
from .result import BenchResult

SPECTRUM = (50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99)


def _chart(kind: str, title: str, y_title: str, x_labels: list[str]) -> Any:
    import pygal
    from pygal.style import CleanStyle

    chart = getattr(pygal, kind)(
        title=title,
        y_title=y_title,
        x_labels=x_labels,
        x_label_rotation=0,
        show_minor_x_labels=False,
        x_labels_major_count=12,
        width=900,
        height=360,
        style=CleanStyle,
        js=[],  # no tooltip script from the web: the page must work offline
        disable_xml_declaration=True,
        show_dots=len(x_labels) <= 60,
        allow_interruptions=True,
    )
    return chart


def charts(result: BenchResult) -> list[str]:
    """Return the run's charts as SVG strings."""
    out = []
    labels = [f"{iv.t_s:g}" for iv in result.intervals]
    what = "consumed" if result.mode != "produce" else "acknowledged"
    tp = _chart("Line", "Throughput over time", "records/s", labels)
    tp.x_title = "seconds"
    tp.add(what, [round(iv.records_per_s, 1) for iv in result.intervals])
    if result.produce_intervals:
        produced = [round(iv.records_per_s, 1) for iv in result.produce_intervals]
        tp.add("produced", produced[: len(labels)] + [None] * (len(labels) - len(produced)))
    out.append(tp.render(is_unicode=True))
    lat = _chart("Line", "Latency per interval", "ms", labels)
    lat.x_title = "seconds"
    lat.add("p50", [iv.p50_ms for iv in result.intervals])
    lat.add("p99", [iv.p99_ms for iv in result.intervals])
    lat.add("max", [iv.max_ms for iv in result.intervals])
    out.append(lat.render(is_unicode=True))
    h = result.histogram
    if h is not None and h.get_total_count():
        names = [f"p{p:g}" for p in SPECTRUM] + ["max"]
        values = [round(h.get_value_at_percentile(p) / 1000, 3) for p in SPECTRUM]
        values.append(round(h.get_max_value() / 1000, 3))
        spec = _chart("Bar", "Latency percentiles (all records)", "ms", names)
        spec.add("latency", values)
        out.append(spec.render(is_unicode=True))
    return out


def render_html(result: BenchResult, title: str = "streamtest bench") -> str:
    """Return the whole HTML page for ``result``."""
    data = result.to_json()
    lat = data["latency_ms"]
    rows = [
        ("mode", result.mode),
        ("records", f"{data['records']:,}"),
        ("errors", f"{data['errors']:,}"),
        ("duration", f"{data['duration_s']:.3f} s"),
        (
            "throughput",
            f"{data['throughput']['records_per_s']:,.1f} records/s, "
            f"{data['throughput']['mb_per_s']:.3f} MB/s",
        ),
        ("latency (ms)", "  ".join(f"{k} {'-' if v is None else v}" for k, v in lat.items())),
    ]
    if result.interrupted:
        rows.append(("note", "interrupted: the figures cover the part that ran"))
    table = "\n".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    svgs = "\n".join(f'<div class="chart">{svg}</div>' for svg in charts(result))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
th {{ text-align: left; padding: 0.2em 1em 0.2em 0; }}
td {{ font-family: monospace; }}
.chart {{ max-width: 900px; margin-bottom: 1.5em; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
<table>
{table}
</table>
{svgs}
</body></html>
"""


def write_html(result: BenchResult, path: str | Path, title: str = "streamtest bench") -> None:
    """Write the HTML report of ``result`` to ``path``.

    Raises:
        InvalidInputError: the file cannot be written.
    """
    try:
        Path(path).write_text(render_html(result, title), encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc.strerror}") from None
