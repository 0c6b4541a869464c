"""Charts drawn on the server: the geometry of SVG bars and lines, computed from the figures.

A chart is data for ``dashboard/chart.html``: shapes with their coordinates and a ``<title>``
each (the figure on hover), axis ticks, and the same figures as table rows, so every number
reads without the drawing. Coordinates are ``Decimal`` rounded to a tenth of a pixel: no
float ever meets an amount.

The template lays out a chart (its frame, heading, link and table); the marks inside the SVG
and the table's rows, a few hundred elements a chart, are joined here (``marks``,
``table_rows``), every text escaped: through the template language they were two thirds of
the page's time (docs/decisions.md).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from dashboard.links import Link

WIDTH = Decimal(560)
HEIGHT = Decimal(190)
LEFT = Decimal(56)
RIGHT = Decimal(8)
TOP = Decimal(10)
BOTTOM = Decimal(22)
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
BAR_SHARE = Decimal("0.72")  # of a day's slot; the rest is the gap between days
Y_TICKS = 4
X_LABEL_EVERY_DAYS = 7
PIXEL = Decimal("0.1")
THOUSAND = Decimal(1000)
NICE_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    # One of the palette's classes in dashboard.css: s1 (the brand's blue) to s4.
    css: str


@dataclass(frozen=True)
class Shape:
    kind: str  # "rect" or "circle"
    x: Decimal
    y: Decimal
    width: Decimal
    height: Decimal
    css: str
    title: str


@dataclass
class Chart:
    key: str
    title: str
    note: str
    link: Link | None
    series: list[Series]
    columns: list[str]
    rows: list[tuple[date, list[str]]] = field(default_factory=list)
    shapes: list[Shape] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)  # (css, "x,y x,y ...")
    y_ticks: list[tuple[Decimal, str]] = field(default_factory=list)
    x_ticks: list[tuple[Decimal, str]] = field(default_factory=list)
    has_data: bool = False
    width: Decimal = WIDTH
    height: Decimal = HEIGHT

    @property
    def marks(self) -> SafeString:
        return marks(self)

    @property
    def table_rows(self) -> SafeString:
        return table_rows(self)


def _px(value: Decimal) -> Decimal:
    return value.quantize(PIXEL)


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value`` (1 for nothing)."""
    if value <= 0:
        return Decimal(1)
    power = Decimal(10) ** value.adjusted()
    return next(step * power for step in NICE_STEPS if step * power >= value)


def tick_label(value: Decimal) -> str:
    if value >= THOUSAND * THOUSAND:
        return f"{(value / THOUSAND / THOUSAND).normalize():f}M"
    if value >= 10 * THOUSAND:
        return f"{(value / THOUSAND).normalize():f}k"
    return f"{value.normalize():,f}" if value != value.to_integral() else f"{value:,.0f}"


def _axes(chart: Chart, days: list[date], top: Decimal, *, suffix: str = "") -> None:
    step = top / Y_TICKS
    for n in range(Y_TICKS + 1):
        y = TOP + PLOT_HEIGHT - PLOT_HEIGHT * n / Y_TICKS
        chart.y_ticks.append((_px(y), tick_label(step * n) + suffix))
    slot = PLOT_WIDTH / len(days)
    for n, day in enumerate(days):
        if n % X_LABEL_EVERY_DAYS == 0:
            chart.x_ticks.append((_px(LEFT + slot * n + slot / 2), f"{day:%b} {day.day}"))


def bar_chart(
    chart: Chart,
    *,
    days: list[date],
    values: Mapping[str, Mapping[date, Decimal]],
    show: Callable[[Decimal], str],
    stacked: bool = True,
    whole: bool = False,
) -> Chart:
    """Bars per day, one per series, stacked (parts of one whole) or side by side; ``whole``:
    the figures are counts, so the ticks are whole numbers too."""
    totals = [
        sum((values[s.key][day] for s in chart.series), Decimal(0))
        if stacked
        else max(values[s.key][day] for s in chart.series)
        for day in days
    ]
    step = nice_ceiling(max(totals, default=Decimal(0)) / Y_TICKS)
    top = (max(step, Decimal(1)) if whole else step) * Y_TICKS
    _axes(chart, days, top)
    slot = PLOT_WIDTH / len(days)
    width = slot * BAR_SHARE / (1 if stacked else len(chart.series))
    for n, day in enumerate(days):
        base = TOP + PLOT_HEIGHT
        for index, series in enumerate(chart.series):
            value = values[series.key][day]
            if value <= 0:
                continue
            height = PLOT_HEIGHT * value / top
            x = LEFT + slot * n + slot * (1 - BAR_SHARE) / 2 + (0 if stacked else width * index)
            y = base - height if stacked else TOP + PLOT_HEIGHT - height
            title = f"{day}: {series.label} {show(value)}"
            chart.shapes.append(Shape("rect", _px(x), _px(y), _px(width), _px(height), series.css, title))
            if stacked:
                base -= height
    chart.has_data = any(totals)
    chart.rows = [(day, [show(values[s.key][day]) for s in chart.series]) for day in days]
    return chart


def rate_chart(
    chart: Chart, *, days: list[date], values: Mapping[str, Mapping[date, Decimal | None]]
) -> Chart:
    """A line per series of per-cent figures (0 to 100); a day with no figure is a gap."""
    _axes(chart, days, Decimal(100), suffix="%")
    slot = PLOT_WIDTH / len(days)
    for series in chart.series:
        points = []
        for n, day in enumerate(days):
            value = values[series.key][day]
            if value is None:
                continue
            x = _px(LEFT + slot * n + slot / 2)
            y = _px(TOP + PLOT_HEIGHT - PLOT_HEIGHT * value / 100)
            points.append(f"{x},{y}")
            chart.shapes.append(
                Shape("circle", x, y, Decimal(0), Decimal(0), series.css, f"{day}: {series.label} {value}%")
            )
        if len(points) > 1:
            chart.lines.append((series.css, " ".join(points)))
    chart.has_data = any(values[s.key][day] is not None for s in chart.series for day in days)
    chart.rows = [
        (day, ["—" if values[s.key][day] is None else f"{values[s.key][day]}%" for s in chart.series])
        for day in days
    ]
    return chart


def marks(chart: Chart) -> SafeString:
    """The SVG elements of ``chart``: grid, ticks, lines, bars and points (each with its title)."""
    right = WIDTH - RIGHT
    parts = [
        f'<line class="dash-grid" x1="{LEFT}" x2="{right}" y1="{y}" y2="{y}"/>'
        f'<text class="dash-tick" x="{LEFT - 6}" y="{y}" text-anchor="end" dominant-baseline="middle">'
        f"{escape(label)}</text>"
        for y, label in chart.y_ticks
    ]
    parts += [
        f'<text class="dash-tick" x="{x}" y="{HEIGHT - 6}" text-anchor="middle">{escape(label)}</text>'
        for x, label in chart.x_ticks
    ]
    parts += [f'<polyline class="dash-line {css}" points="{points}"/>' for css, points in chart.lines]
    for s in chart.shapes:
        if s.kind == "rect":
            parts.append(
                f'<rect class="dash-bar {s.css}" x="{s.x}" y="{s.y}" width="{s.width}" height="{s.height}">'
                f"<title>{escape(s.title)}</title></rect>"
            )
        else:
            parts.append(
                f'<circle class="dash-point {s.css}" cx="{s.x}" cy="{s.y}" r="3">'
                f"<title>{escape(s.title)}</title></circle>"
            )
    if not chart.has_data:
        parts.append(
            f'<text class="dash-empty" x="{LEFT + PLOT_WIDTH / 2}" y="{TOP + PLOT_HEIGHT / 2}" '
            'text-anchor="middle">Nothing in this span</text>'
        )
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def table_rows(chart: Chart) -> SafeString:
    """The figures of ``chart`` as ``<tr>`` rows: the day, then a cell per column."""
    return mark_safe(  # noqa: S308 - every text is escaped
        "".join(
            f'<tr><th scope="row">{day.isoformat()}</th>{"".join(f"<td>{escape(cell)}</td>" for cell in cells)}</tr>'
            for day, cells in chart.rows
        )
    )
