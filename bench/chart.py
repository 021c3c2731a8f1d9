"""Draw the benchmark ratios as one SVG chart, from the results files of the bench scripts.

Reads ``validators.json``, ``scaling.json``, ``end_to_end.json``, ``servers.json`` and ``hostile.json`` from
``bench/results`` (or BENCH_RESULTS) and writes ``docs/_static/benchmark.svg`` (or the path
given as the first argument). A panel whose results file is missing is left out. The SVG
is written directly (no plotting library): horizontal bars with their value, the
targets as dashed red marks, and a note with the date and machine of the run.

Run: ``.venv/bin/python bench/chart.py [output.svg]`` (``make bench`` runs it last).
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS") or ROOT / "bench" / "results")
# A run into BENCH_RESULTS (a quick look) leaves the committed chart alone.
OUTPUT = (
    RESULTS_DIR / "benchmark.svg" if os.environ.get("BENCH_RESULTS") else ROOT / "docs" / "_static" / "benchmark.svg"
)

WIDTH = 960
LABEL_X = 24  # left edge of the row labels
PLOT_LEFT = 300  # x of the value 0
PLOT_RIGHT = WIDTH - 70  # x of the axis maximum (room for a value label after it)
BAR = 15
GAP = 5
GROUP_GAP = 12
FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"

OURS_FIRST = "#2563eb"
OURS_REPEATED = "#0d9488"
OURS_FIRST_LIGHT = "#93c5fd"
OURS_REPEATED_LIGHT = "#99f6e4"
OTHER = "#9ca3af"
BENIGN = "#6b7280"
HOSTILE = "#f59e0b"
FLAGGED = "#dc2626"
TARGET = "#dc2626"
INK = "#111827"
MUTED = "#4b5563"
GRID = "#e5e7eb"
HALO = {"stroke": "#ffffff", "stroke_width": "3", "paint_order": "stroke", "stroke_linejoin": "round"}


@dataclass
class Bar:
    label: str
    value: float | None  # None: not applicable (shown as "n/a")
    color: str
    note: str = ""  # shown after the value
    target: tuple[float, str] | None = None  # (value, text) dashed across this bar only


@dataclass
class Group:
    label: str  # on a line of its own, above the bars; target labels go on that line
    bars: list[Bar]
    targets: list[tuple[float, str]] = field(default_factory=list)  # (value, text) dashed across the group


@dataclass
class Panel:
    title: str
    subtitle: str
    axis: str
    groups: list[Group]
    reference: tuple[float, str] | None = None  # a full-height line (value, text), e.g. 1.0 = the floor
    log: bool = False


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS_DIR / f"{name}.json"
    if not path.exists():
        print(f"chart: {path} not found, its panel is left out", file=sys.stderr)
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# --- panels from results -----------------------------------------------------------------------


def _rows(data: dict[str, Any], table: str) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in data["tables"].get(table, [])}


AUTH_FIRST = "ours authenticate() first-seen"
AUTH_REPEATED = "ours authenticate() repeated"
VALIDATE_FIRST = "ours validate_access_token first-seen"
VALIDATE_REPEATED = "ours validate_access_token repeated"
OURS = ("raw cryptography verify", AUTH_FIRST, AUTH_REPEATED, VALIDATE_FIRST, VALIDATE_REPEATED)


def validator_panels(data: dict[str, Any]) -> list[Panel]:
    ours: list[Group] = []
    peers: list[Group] = []
    for alg in data["settings"]["algorithms"]:
        rows = _rows(data, alg)
        first_target = {"RS256": (1.5, "first-seen ≤ 1.5x"), "ES256": (1.25, "first-seen ≤ 1.25x")}.get(alg)
        bars = [
            Bar("authenticate() first-seen", rows[AUTH_FIRST]["x_raw"], OURS_FIRST, target=first_target),
            Bar(
                "authenticate() repeated (cache hit)",
                rows[AUTH_REPEATED]["x_raw"],
                OURS_REPEATED,
                target=(0.1, "repeated ≤ 0.1x") if alg == "RS256" else None,
            ),
            Bar("validate_access_token first-seen", rows[VALIDATE_FIRST]["x_raw"], OURS_FIRST_LIGHT),
            Bar("validate_access_token repeated", rows[VALIDATE_REPEATED]["x_raw"], OURS_REPEATED_LIGHT),
        ]
        ours.append(Group(alg, bars))
        names = [n for n in rows if n not in OURS]
        peer_bars = [Bar(n, rows[n]["x_ours"], OTHER, "" if rows[n]["na"] is None else rows[n]["na"]) for n in names]
        peers.append(Group(alg, peer_bars, [(1.25, "≥ 1.25x")] if alg == "RS256" else []))
    return [
        Panel(
            "Ours against the raw signature check",
            "µs of one call / µs of cryptography's verify alone on the same token (lower is better)",
            "× raw cryptography verify",
            ours,
            reference=(1.0, "raw verify"),
        ),
        Panel(
            "Peer libraries against ours (first-seen token)",
            "µs of the peer / µs of our authenticate() first-seen, identical tokens and keys (above 1x: slower)",
            "× ours authenticate() first-seen (log scale)",
            peers,
            reference=(1.0, "ours"),
            log=True,
        ),
    ]


def end_to_end_panel(data: dict[str, Any]) -> Panel:
    rows = _rows(data, "rows")
    repeated, first = rows["ours repeated"], rows["ours first-seen"]
    simplejwt = rows["simplejwt JWTStatelessUserAuthentication"]
    return Panel(
        "End to end through Django and DRF",
        "requests/s of the row / requests/s of the reference, one GET per request (higher is better)",
        "throughput ratio",
        [
            Group(
                "vs AllowAny (no authentication)",
                [
                    Bar("ours repeated", repeated["x_allowany"], OURS_REPEATED),
                    Bar("ours first-seen", first["x_allowany"], OURS_FIRST),
                    Bar("simplejwt", simplejwt["x_allowany"], OTHER),
                ],
                [(0.9, "≥ 0.9x")],
            ),
            Group(
                "vs simplejwt",
                [
                    Bar("ours repeated", repeated["x_simplejwt"], OURS_REPEATED),
                    Bar("ours first-seen", first["x_simplejwt"], OURS_FIRST),
                ],
                [(1.2, "≥ 1.2x")],
            ),
        ],
        reference=(1.0, "equal"),
    )


def servers_panel(data: dict[str, Any]) -> Panel:
    groups = []
    for server, rows in data["tables"].items():
        # The target is for ours (the second row); a further row is there for comparison.
        bars = [Bar(rows[1]["name"], rows[1]["x_open"], OURS_REPEATED, target=(0.95, "≥ 0.95x"))]
        bars += [Bar(row["name"], row["x_open"], OTHER) for row in rows[2:]]
        groups.append(Group(f"{server}, {data['settings']['clients']} clients, repeated token", bars))
    return Panel(
        "Through real servers on loopback",
        "median of per-repeat ratios: requests/s of the row / requests/s of the same view without authentication",
        "throughput ratio",
        groups,
        reference=(1.0, "no authentication"),
    )


def scaling_panel(data: dict[str, Any]) -> Panel:
    rows = data["tables"]["rows"]
    bars = [Bar(row["name"].replace("base: ", ""), row["x_base"], OURS_FIRST) for row in rows[1:]]
    return Panel(
        "Scaling: ours first-seen RS256 as things grow",
        "µs of the row / µs of the base row (1 key, 1 issuer, 1 scope); lower is better",
        "× base row",
        [Group("RS256 first-seen", bars, [(1.1, "≤ 1.1x")])],
        reference=(1.0, "base"),
    )


def hostile_panel(data: dict[str, Any]) -> Panel:
    benign = data["settings"]["benign"]
    flag = data["settings"]["flag_ratio"]
    groups: list[Group] = []
    for kind, title in (("benign", "benign"), ("corpus", "hostile corpus"), ("made here", "made in the bench")):
        bars = []
        for row in data["tables"]["rows"]:
            if (row["name"] in benign) != (kind == "benign") or (kind != "benign" and row["kind"] != kind):
                continue
            color = BENIGN if kind == "benign" else FLAGGED if row["flagged"] else HOSTILE
            bars.append(Bar(row["name"].replace("made: ", ""), row["x_benign"], color, f"{row['chars']:,} chars"))
        groups.append(Group(title, bars, [(flag, f"flag > {flag:g}x")] if kind != "benign" else []))
    return Panel(
        "Hostile against benign rejections",
        "µs to refuse the request / µs of the cheaper benign rejection (expired, bad signature); lower is better",
        "× benign rejection (log scale)",
        groups,
        reference=(1.0, "benign"),
        log=True,
    )


# --- drawing -------------------------------------------------------------------------------------


def nice_step(span: float) -> float:
    raw = span / 6
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * magnitude:
            return multiple * magnitude
    return 10 * magnitude


def text_width(text: str, size: int) -> float:
    """A generous estimate of the width of ``text`` in the chart's sans-serif font."""
    return len(text) * size * 0.58


def fmt(value: float) -> str:
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


class Canvas:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.y = 0.0

    def text(self, x: float, y: float, content: str, *, size: int = 12, color: str = INK, **attrs: str) -> None:
        extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
        self.parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{color}"{extra}>{escape(content)}</text>'
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, color: str, **attrs: str) -> None:
        extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
        self.parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{color}"{extra}/>')

    def rect(self, x: float, y: float, w: float, h: float, color: str) -> None:
        self.parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 1):.1f}" height="{h:.1f}" fill="{color}"/>')

    def panel(self, panel: Panel) -> None:
        values = [b.value for g in panel.groups for b in g.bars if b.value is not None]
        values += [t for g in panel.groups for t, _ in g.targets]
        if panel.log:
            low = 10 ** math.floor(math.log10(min([*values, 1.0]) * 0.95))
            high = 10 ** math.ceil(math.log10(max(values) * 1.15))
            ticks = [10.0**e for e in range(round(math.log10(low)), round(math.log10(high)) + 1)]

            def scale(v: float) -> float:
                return PLOT_LEFT + (math.log10(v) - math.log10(low)) / (math.log10(high) - math.log10(low)) * (
                    PLOT_RIGHT - PLOT_LEFT
                )

            origin = PLOT_LEFT
        else:
            step = nice_step(max(values) * 1.1)
            high = math.ceil(max(values) * 1.1 / step) * step
            ticks = [i * step for i in range(round(high / step) + 1)]

            def scale(v: float) -> float:
                return PLOT_LEFT + v / high * (PLOT_RIGHT - PLOT_LEFT)

            origin = scale(0)

        self.y += 34
        self.text(LABEL_X, self.y, panel.title, size=16, font_weight="600")
        self.y += 18
        self.text(LABEL_X, self.y, panel.subtitle, size=12, color=MUTED)
        self.y += 26
        top = self.y
        rows: list[tuple[float, Bar]] = []
        headers: list[tuple[Group, float, float]] = []  # group, y of its label line, y below its last bar
        for group in panel.groups:
            label_y = self.y
            self.text(LABEL_X, self.y + BAR - 3, group.label, size=12, font_weight="600")
            self.y += BAR + GAP
            for bar in group.bars:
                rows.append((self.y, bar))
                self.y += BAR + GAP
            headers.append((group, label_y, self.y - GAP))
            self.y += GROUP_GAP
        bottom = self.y - GROUP_GAP

        for tick in ticks:
            x = scale(tick)
            self.line(x, top - 4, x, bottom, GRID)
            self.text(x, bottom + 15, f"{tick:g}x", size=11, color=MUTED, text_anchor="middle")
        self.line(PLOT_LEFT, bottom, PLOT_RIGHT, bottom, MUTED)
        self.text((PLOT_LEFT + PLOT_RIGHT) / 2, bottom + 32, panel.axis, size=12, color=MUTED, text_anchor="middle")
        if panel.reference is not None:
            value, label = panel.reference
            x = scale(value)
            self.line(x, top - 10, x, bottom, MUTED, stroke_width="1.2")
            self.text(x, top - 13, label, size=11, color=MUTED, text_anchor="middle")

        for y, bar in rows:
            self.text(LABEL_X + 12, y + BAR - 3, bar.label, size=12)
            if bar.value is None:
                self.text(PLOT_LEFT + 6, y + BAR - 3, f"n/a ({bar.note})" if bar.note else "n/a", size=11, color=MUTED)
            else:
                self.rect(origin, y, scale(bar.value) - origin, BAR, bar.color)

        # Targets: a dashed line across the group (or the one bar), labelled on the group's line;
        # labels on one line are moved right until they do not overlap.
        labels: dict[float, list[tuple[float, str]]] = {}
        for group, label_y, end_y in headers:
            for value, label in group.targets:
                self.line(
                    scale(value),
                    label_y + BAR,
                    scale(value),
                    end_y + 2,
                    TARGET,
                    stroke_width="2",
                    stroke_dasharray="4 3",
                )
                labels.setdefault(label_y, []).append((scale(value), label))
        for y, bar in rows:
            if bar.target is not None:
                value, label = bar.target
                self.line(
                    scale(value), y - 2, scale(value), y + BAR + 2, TARGET, stroke_width="2", stroke_dasharray="4 3"
                )
                labels.setdefault(max(h for _, h, _ in headers if h < y), []).append((scale(value), label))
        for label_y, items in labels.items():
            free = 0.0
            for x, label in sorted(items):
                left = max(x + 4, free)
                self.text(left, label_y + BAR - 4, label, size=10, color=TARGET)
                free = left + text_width(label, 10) + 10
        # Values last, with a white halo, so that no line hides them.
        for y, bar in rows:
            if bar.value is None:
                continue
            end = scale(bar.value)
            value = fmt(bar.value)
            note_width = text_width(bar.note, 11) + 8 if bar.note else 0
            if end + 5 + text_width(value, 11) + note_width > WIDTH - 8:  # no room after the bar: inside it
                self.text(end - 5, y + BAR - 3, value, size=11, color="#ffffff", font_weight="600", text_anchor="end")
                if bar.note:
                    x = end - 13 - text_width(value, 11)
                    self.text(x, y + BAR - 3, bar.note, size=11, color="#ffffff", text_anchor="end")
                continue
            self.text(end + 5, y + BAR - 3, value, size=11, font_weight="600", **HALO)
            if bar.note:
                self.text(end + 13 + text_width(value, 11), y + BAR - 3, bar.note, size=11, color=MUTED, **HALO)
        self.y = bottom + 44

    def svg(self, height: float) -> str:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
            f'viewBox="0 0 {WIDTH} {height:.0f}" font-family="{FONT}" role="img" '
            'aria-labelledby="title"><title id="title">django-jwt-at benchmark ratios</title>'
            f'<rect width="{WIDTH}" height="{height:.0f}" fill="#ffffff"/>'
        )
        return head + "\n" + "\n".join(self.parts) + "\n</svg>\n"


def environment_note(documents: list[dict[str, Any]]) -> list[str]:
    env = documents[0]["environment"]
    versions = env.get("versions", {})
    dates = sorted(d["environment"]["date"] for d in documents)
    when = dates[0][:16].replace("T", " ") + " UTC"
    return [
        f"make bench, {when}: {env['cpu_model']}, {env['cpus']} CPUs, {env['system']}; "
        f"Python {env['python']} ({env['implementation']}, {env['build']}).",
        f"django-jwt-at {versions.get('django-jwt-at')}, cryptography {versions.get('cryptography')}, "
        f"Django {versions.get('Django')}, DRF {versions.get('djangorestframework')}. "
        f"Medians of {env['repeats']} interleaved batches per row.",
        "A shared, noisy 2-core machine: read the ratios, not absolute times. "
        "Dashed red: the targets (hostile panel: the 20x flag).",
    ]


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT
    canvas = Canvas()
    canvas.y = 10
    canvas.text(LABEL_X, 38, "django-jwt-at: benchmark ratios", size=20, font_weight="700")
    canvas.y = 40
    documents = []
    validators = load("validators")
    if validators:
        documents.append(validators)
        for panel in validator_panels(validators):
            canvas.panel(panel)
    end_to_end = load("end_to_end")
    if end_to_end:
        documents.append(end_to_end)
        canvas.panel(end_to_end_panel(end_to_end))
    servers = load("servers")
    if servers:
        documents.append(servers)
        canvas.panel(servers_panel(servers))
    scaling = load("scaling")
    if scaling:
        documents.append(scaling)
        canvas.panel(scaling_panel(scaling))
    hostile = load("hostile")
    if hostile:
        documents.append(hostile)
        canvas.panel(hostile_panel(hostile))
    if not documents:
        raise SystemExit(f"chart: no results in {RESULTS_DIR}; run the bench scripts first")
    for line in environment_note(documents):
        canvas.text(LABEL_X, canvas.y, line, size=11, color=MUTED)
        canvas.y += 16
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(canvas.svg(canvas.y + 8), encoding="utf-8")
    print(f"chart: {output}")


if __name__ == "__main__":
    main()
