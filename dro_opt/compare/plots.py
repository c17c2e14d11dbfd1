"""Plots of a comparison: relative gap over time per run, and the performance profile.

``--plot OUT.png`` draws with matplotlib: one panel per target (gap vs seconds, log scale, one
step curve per solver/method, repeat 1) and Dolan-More profiles (:mod:`dro_opt.compare.profiles`),
one for model files and one for application instances. ``--plot OUT.html`` writes an interactive
page: with ``plotly`` installed, a plotly figure with plotly.js inlined; otherwise a self-contained
page of inline SVG with a little JavaScript (hover read-out, click a legend entry to hide a
curve). Neither HTML form loads anything from the network.

The gap of a point ``(t, primal, dual)`` is ``|dual - primal| / max(1, |primal|)`` (the same as
:func:`dro_opt.solvers.result.relative_gap`); points with no incumbent or no bound yet have no gap
and are not drawn. Gaps are floored at :data:`GAP_FLOOR` for the log axis (0 = proven optimal).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from dro_opt.compare.profiles import config_label, performance_profile
from dro_opt.compare.trajectory import gap_series
from dro_opt.errors import ParameterError

GAP_FLOOR = 1e-9
MAX_PANELS = 12
_COLORS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)

Series = tuple[str, list[float], list[float]]


def gap_curves(rows: list[dict[str, Any]]) -> dict[str, list[Series]]:
    """``{target: [(label, seconds, gaps), ...]}`` from the rows' trajectories (repeat 1)."""
    out: dict[str, list[Series]] = {}
    for r in rows:
        if int(r.get("repeat") or 1) != 1:
            continue
        pts = [(t, g) for t, g in gap_series(r.get("trajectory") or []) if g is not None]
        if not pts:
            continue
        xs = [float(t) for t, _ in pts]
        ys = [max(float(g), GAP_FLOOR) for _, g in pts]
        out.setdefault(str(r["target"]), []).append((config_label(r), xs, ys))
    return out


def profile_groups(rows: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Rows split into model files (method ``direct``) and application targets.

    Solvers run on model files and solver/method pairs on application instances never meet the
    same target, so each group gets its own Dolan-More profile.
    """
    files = [r for r in rows if r.get("method") == "direct"]
    apps = [r for r in rows if r.get("method") != "direct"]
    groups = [("model files", files), ("instances", apps)]
    return [(name, g) for name, g in groups if g]


def write_plot(rows: list[dict[str, Any]], path: Path, title: str = "dro-opt compare") -> Path:
    """Write ``path`` (.png or .html) for ``rows``; returns the path."""
    suffix = path.suffix.lower()
    if suffix == ".png":
        _write_png(rows, path, title)
    elif suffix in (".html", ".htm"):
        try:
            import plotly  # noqa: F401
        except ImportError:
            _write_svg_html(rows, path, title)
        else:
            _write_plotly_html(rows, path, title)
    else:
        raise ParameterError(f"--plot writes .png or .html, got {path.name!r}")
    return path


def _colors(rows: list[dict[str, Any]]) -> dict[str, str]:
    labels = list(dict.fromkeys(config_label(r) for r in rows))
    return {lab: _COLORS[i % len(_COLORS)] for i, lab in enumerate(labels)}


# ------------------------------------------------------------------ PNG
def _write_png(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    try:
        import matplotlib
    except ImportError:
        raise ParameterError(
            "--plot OUT.png needs matplotlib: pip install matplotlib (or 'dro-opt[compare]'), "
            "or write OUT.html"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    from dro_opt.io.atomic import atomic_path

    curves = gap_curves(rows)
    targets = list(curves)[:MAX_PANELS]
    groups = profile_groups(rows)
    n = len(targets) + len(groups)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.8 * nrows), squeeze=False)
    colors = _colors(rows)
    for ax, target in zip(axes.flat, targets, strict=False):
        for label, xs, ys in curves[target]:
            ax.step(xs, ys, where="post", label=label, color=colors[label], lw=1.6)
            ax.plot(xs[-1:], ys[-1:], "o", color=colors[label], ms=4)
        ax.set_yscale("log")
        ax.set_title(_short(target), fontsize=9)
        ax.set_xlabel("seconds")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=5))  # no crowded labels
        ax.set_ylabel("relative gap")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for prof_ax, (name, group) in zip(list(axes.flat)[len(targets) :], groups, strict=False):
        prof = performance_profile(group)
        for j, label in enumerate(prof.configs):
            prof_ax.step(
                prof.taus, prof.fractions[j], where="post", label=label, color=colors[label]
            )
        prof_ax.set_xscale("log", base=2)
        prof_ax.set_ylim(-0.02, 1.02)
        prof_ax.set_xlabel("tau (time / best time)")
        prof_ax.set_ylabel("fraction proven optimal")
        prof_ax.set_title(f"performance profile, {name} ({len(prof.problems)} targets)", fontsize=9)
        prof_ax.grid(True, which="both", alpha=0.3)
        if prof.configs:
            prof_ax.legend(fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    extra = len(curves) - len(targets)
    fig.suptitle(title + (f" (first {MAX_PANELS} targets; {extra} more)" if extra > 0 else ""))
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else "..." + text[-(width - 3) :]


# ------------------------------------------------------------------ plotly
def _write_plotly_html(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from dro_opt.io.atomic import atomic_write_text

    curves = gap_curves(rows)
    targets = list(curves)[:MAX_PANELS]
    groups = profile_groups(rows)
    n = len(targets) + len(groups)
    fig = make_subplots(
        rows=n,
        cols=1,
        subplot_titles=[*map(_short, targets), *(f"performance profile, {g}" for g, _ in groups)],
    )
    colors = _colors(rows)
    for i, target in enumerate(targets, start=1):
        for label, xs, ys in curves[target]:
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    name=label,
                    line={"shape": "hv", "color": colors[label]},
                    legendgroup=label,
                    showlegend=i == 1,
                ),
                row=i,
                col=1,
            )
        fig.update_yaxes(type="log", title_text="relative gap", row=i, col=1)
        fig.update_xaxes(title_text="seconds", row=i, col=1)
    for k, (_, group) in enumerate(groups, start=len(targets) + 1):
        prof = performance_profile(group)
        for j, label in enumerate(prof.configs):
            fig.add_trace(
                go.Scatter(
                    x=prof.taus.tolist(),
                    y=prof.fractions[j].tolist(),
                    name=label,
                    line={"shape": "hv", "color": colors[label]},
                    legendgroup=label,
                    showlegend=not targets,
                ),
                row=k,
                col=1,
            )
        fig.update_xaxes(type="log", title_text="tau (time / best time)", row=k, col=1)
        fig.update_yaxes(title_text="fraction proven optimal", range=[0, 1.02], row=k, col=1)
    fig.update_layout(title=title, height=330 * n)
    atomic_write_text(path, fig.to_html(include_plotlyjs=True, full_html=True))


# ------------------------------------------------------------------ SVG
_W, _H, _PAD = 640, 300, 56

_JS = """
document.querySelectorAll('svg.chart').forEach(function (svg) {
  var tip = svg.parentNode.querySelector('.tip');
  svg.addEventListener('mousemove', function (ev) {
    var best = null, bd = 1e9, r = svg.getBoundingClientRect();
    var mx = ev.clientX - r.left, my = ev.clientY - r.top;
    svg.querySelectorAll('circle.pt').forEach(function (c) {
      if (c.parentNode.style.display === 'none') return;
      var d = Math.hypot(c.cx.baseVal.value - mx, c.cy.baseVal.value - my);
      if (d < bd) { bd = d; best = c; }
    });
    tip.textContent = best && bd < 30 ? best.dataset.label : '';
  });
});
document.querySelectorAll('.legend span').forEach(function (s) {
  s.addEventListener('click', function () {
    var hide = !s.classList.contains('off'); s.classList.toggle('off');
    document.querySelectorAll('g[data-series="' + s.dataset.series + '"]').forEach(
      function (g) { g.style.display = hide ? 'none' : ''; });
  });
});
"""


def _svg_chart(
    series: list[Series], colors: dict[str, str], xlog: bool, ylog: bool, xlabel: str, ylabel: str
) -> str:
    def tf(v: float, log: bool) -> float:
        return math.log10(v) if log else v

    xs_all = [x for _, xs, _ in series for x in xs] or [0.0, 1.0]
    ys_all = [y for _, _, ys in series for y in ys] or [1e-9, 1.0]
    x0, x1 = tf(min(xs_all), xlog), tf(max(xs_all), xlog)
    y0, y1 = tf(min(ys_all), ylog), tf(max(ys_all), ylog)
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1

    def px(v: float) -> float:
        return _PAD + (tf(v, xlog) - x0) / (x1 - x0) * (_W - 1.5 * _PAD)

    def py(v: float) -> float:
        return _H - _PAD + -(tf(v, ylog) - y0) / (y1 - y0) * (_H - 1.5 * _PAD)

    parts = [f'<svg class="chart" width="{_W}" height="{_H}" xmlns="http://www.w3.org/2000/svg">']
    parts.append(
        f'<rect x="{_PAD}" y="{_PAD / 2}" width="{_W - 1.5 * _PAD}" height="{_H - 1.5 * _PAD}" '
        'fill="none" stroke="#999"/>'
    )
    for frac in (0.0, 0.5, 1.0):
        xv, yv = x0 + frac * (x1 - x0), y0 + frac * (y1 - y0)
        xl = 10**xv if xlog else xv
        yl = 10**yv if ylog else yv
        parts.append(
            f'<text x="{px(xl):.1f}" y="{_H - _PAD + 16}" font-size="11" '
            f'text-anchor="middle">{xl:.3g}</text>'
        )
        parts.append(
            f'<text x="{_PAD - 4}" y="{py(yl) + 4:.1f}" font-size="11" '
            f'text-anchor="end">{yl:.2g}</text>'
        )
    parts.append(
        f'<text x="{_W / 2}" y="{_H - 12}" font-size="12" text-anchor="middle">'
        f"{html.escape(xlabel)}</text>"
    )
    parts.append(
        f'<text x="14" y="{_H / 2}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 14 {_H / 2})">{html.escape(ylabel)}</text>'
    )
    for label, xs, ys in series:
        pts = []
        for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
            if i:
                pts.append(f"{px(x):.1f},{py(ys[i - 1]):.1f}")
            pts.append(f"{px(x):.1f},{py(y):.1f}")
        color = colors[label]
        dots = "".join(
            f'<circle class="pt" cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{color}" '
            f'data-label="{html.escape(label)}: x={x:.4g}, y={y:.4g}"/>'
            for x, y in zip(xs, ys, strict=True)
        )
        parts.append(
            f'<g data-series="{html.escape(label)}"><polyline fill="none" stroke="{color}" '
            f'stroke-width="1.8" points="{" ".join(pts)}"/>{dots}</g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _write_svg_html(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    from dro_opt.compare.table import COLUMNS, cell
    from dro_opt.io.atomic import atomic_write_text

    colors = _colors(rows)
    legend = "".join(
        f'<span data-series="{html.escape(lab)}" style="color:{c}">&#9632; {html.escape(lab)}'
        "</span>"
        for lab, c in colors.items()
    )
    body = [f"<h1>{html.escape(title)}</h1>", f'<p class="legend">{legend}</p>']
    curves = gap_curves(rows)
    for target in list(curves)[:MAX_PANELS]:
        chart = _svg_chart(curves[target], colors, False, True, "seconds", "relative gap")
        body.append(
            f'<div class="panel"><h2>{html.escape(target)}</h2>{chart}<div class="tip"></div></div>'
        )
    for name, group in profile_groups(rows):
        prof = performance_profile(group)
        prof_series = [
            (lab, prof.taus.tolist(), [max(v, 1e-3) for v in prof.fractions[j].tolist()])
            for j, lab in enumerate(prof.configs)
        ]
        chart = _svg_chart(prof_series, colors, True, False, "tau (time / best time)", "fraction")
        body.append(
            f'<div class="panel"><h2>performance profile, {name} ({len(prof.problems)} targets)'
            f'</h2>{chart}<div class="tip"></div></div>'
        )
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h in COLUMNS)
    trs = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell(r, k))}</td>" for k, _ in COLUMNS) + "</tr>"
        for r in rows
    )
    body.append(f"<table><tr>{head}</tr>{trs}</table>")
    data = json.dumps({"runs": len(rows)})
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:1em} .panel{display:inline-block;margin:0.5em}"
        ".tip{height:1.2em;font-size:12px;color:#333} .legend span{cursor:pointer;margin-right:1em}"
        ".legend span.off{opacity:0.3} table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>"
        + "".join(body)
        + f"<script>var META={data};{_JS}</script></body></html>"
    )
    atomic_write_text(path, page)
