"""Deterministic label placement: each label goes to the first free spot around its point.

Points are labelled in a fixed order (the caller's). For each point, candidate offsets are tried
ring by ring (right, left, above, below, then the diagonals, at growing distances); the first
whose text box overlaps no placed label, no marker and stays inside the axes wins. A label set
away from its point gets a thin leader line. No randomness, so the layout (and the file bytes)
are the same on every rebuild.
"""

from __future__ import annotations

from matplotlib.transforms import Bbox

DIRECTIONS = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1),
              (1, 0.5), (-1, 0.5), (1, -0.5), (-1, -0.5)]
RADII = [9, 16, 26, 38, 52, 68]  # points (1/72 inch)
MARKER_HALF = 7.0  # half size of a marker's keep-out box (covers a frontier ring), in points


def _align(dx: float, dy: float) -> tuple[str, str]:
    ha = "left" if dx > 0 else "right" if dx < 0 else "center"
    va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
    return ha, va


def _line_boxes(ax, lines, step_px: float = 3.0, half_px: float = 1.5) -> list:
    """Small keep-out boxes along polylines given in data coordinates."""
    boxes = []
    for xs, ys in lines:
        pts = [ax.transData.transform((x, y)) for x, y in zip(xs, ys)]
        for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
            n = max(1, int(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 / step_px))
            for k in range(n + 1):
                x, y = x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n
                boxes.append(Bbox.from_extents(x - half_px, y - half_px, x + half_px, y + half_px))
    return boxes


def place_labels(ax, xs, ys, texts, fontsize: float = 7.5, colors=None, avoid_lines=()) -> list:
    """Annotate (xs[i], ys[i]) with texts[i] without overlaps where possible; return the artists.

    `avoid_lines`: polylines [(xs, ys), ...] in data coordinates that labels should not cross.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    to_px = fig.dpi / 72.0
    axes_box = ax.get_window_extent(renderer)
    centres = [ax.transData.transform((x, y)) for x, y in zip(xs, ys)]
    half = MARKER_HALF * to_px
    taken = [Bbox.from_extents(cx - half, cy - half, cx + half, cy + half) for cx, cy in centres]
    taken += _line_boxes(ax, avoid_lines)
    if ax.get_legend() is not None:
        taken.append(ax.get_legend().get_window_extent(renderer))
    artists = []
    for i, text in enumerate(texts):
        colour = colors[i] if colors else "black"
        chosen = None
        fallback = None
        for radius in RADII:
            for dx, dy in DIRECTIONS:
                norm = (dx * dx + dy * dy) ** 0.5
                off = (dx / norm * radius, dy / norm * radius)
                ha, va = _align(dx, dy)
                ann = ax.annotate(text, (xs[i], ys[i]), xytext=off, textcoords="offset points",
                                  ha=ha, va=va, fontsize=fontsize, color=colour)
                box = ann.get_window_extent(renderer).padded(1.5 * to_px)
                inside = (box.x0 >= axes_box.x0 and box.x1 <= axes_box.x1
                          and box.y0 >= axes_box.y0 and box.y1 <= axes_box.y1)
                free = not any(box.overlaps(other) for other in taken)
                if inside and free:
                    chosen = (ann, box, radius)
                    break
                if fallback is None and inside:
                    fallback = (off, ha, va)
                ann.remove()
            if chosen:
                break
        if chosen is None:  # crowded: first spot inside the axes, else to the right
            off, ha, va = fallback or ((6, 0), "left", "center")
            ann = ax.annotate(text, (xs[i], ys[i]), xytext=off, textcoords="offset points",
                              ha=ha, va=va, fontsize=fontsize, color=colour)
            chosen = (ann, ann.get_window_extent(renderer), abs(off[0]) + abs(off[1]))
        ann, box, radius = chosen
        if radius > RADII[0]:
            ann.arrow_patch = None
            ann.remove()
            ann = ax.annotate(text, (xs[i], ys[i]), xytext=ann.xyann, textcoords="offset points",
                              ha=ann.get_ha(), va=ann.get_va(), fontsize=fontsize, color=colour,
                              arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.5,
                                          "shrinkA": 0, "shrinkB": 3})
        taken.append(box)
        artists.append(ann)
    return artists
