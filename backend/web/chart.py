"""The helpful rate per day as a small inline SVG: grey bars for the number of votes, a line for the rate.

Drawn on the server (no chart library, no script): the page stays air-gapped and the chart is in the HTML that
tests and screen readers get; the same numbers are in a table below it.
"""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 180  # fits the content column of a 1280-px laptop screen with room for the labels
LEFT, RIGHT, TOP, BOTTOM = 40, 12, 12, 28  # margins for the axis labels


def rate_chart(days: list[dict]) -> Markup:
    """`days`: [{day: "2026-11-29", helpful: n, not_helpful: n}], oldest first."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(days), 1)
    step = plot_w / n
    most = max([d["helpful"] + d["not_helpful"] for d in days] + [1])
    votes = sum(d["helpful"] + d["not_helpful"] for d in days)
    rated = [d for d in days if d["helpful"] + d["not_helpful"]]
    overall = sum(d["helpful"] for d in rated) / votes if votes else None
    summary = (f"{votes} votes over {len(days)} days; {round(overall * 100)}% found helpful" if overall is not None
               else f"No votes in the last {len(days)} days")
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title chart-desc"'
             f' xmlns="http://www.w3.org/2000/svg">',
             '<title id="chart-title">Helpful rate per day</title>',
             f'<desc id="chart-desc">{escape(summary)}</desc>']
    for pct in (0, 50, 100):  # grid lines with their labels
        y = TOP + plot_h * (1 - pct / 100)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{pct}%</text>')
    points = []
    for i, d in enumerate(days):
        total = d["helpful"] + d["not_helpful"]
        x = LEFT + i * step
        if total:
            h = plot_h * total / most
            parts.append(f'<rect class="bar" x="{x + step * 0.15:.1f}" y="{TOP + plot_h - h:.1f}" '
                         f'width="{step * 0.7:.1f}" height="{h:.1f}"><title>{escape(d["day"])}: {total} votes, '
                         f'{d["helpful"]} helpful</title></rect>')
            points.append((x + step / 2, TOP + plot_h * (1 - d["helpful"] / total)))
    if len(points) > 1:
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline class="rate" points="{line}"/>')
    for x, y in points:
        parts.append(f'<circle class="rate-dot" cx="{x:.1f}" cy="{y:.1f}" r="3.5"/>')
    if days:  # first and last day under the axis
        parts.append(f'<text class="axis" x="{LEFT}" y="{HEIGHT - 8}">{escape(days[0]["day"])}</text>')
        parts.append(f'<text class="axis" x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" text-anchor="end">'
                     f'{escape(days[-1]["day"])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
