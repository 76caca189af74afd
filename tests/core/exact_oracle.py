"""An exact rational-arithmetic oracle for region maps and knots, independent of the engine.

Everything here is computed with :class:`fractions.Fraction` from the network's
float64 weights, by the most direct algorithm: clip the box by every unit's
line, one polygon at a time (Sutherland-Hodgman with exact arithmetic), and
in 1D split intervals at every root. It is slow and only meant for small
networks; it shares no code with ``relumap_service.core`` beyond reading the
weights off a ``Network``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction as F

from relumap_service.core.network import Network

Point = tuple[F, F]


@dataclass
class ExactRegion:
    polygon: list[Point]
    pattern: str
    gradient: list[tuple[F, F]]  # per output
    intercept: list[F]


def _weights(net: Network) -> tuple[list[list[list[F]]], list[list[F]], F]:
    coefs = [[[F(v) for v in row] for row in w.tolist()] for w in net.coefs]
    biases = [[F(v) for v in b.tolist()] for b in net.intercepts]
    if net.hidden_activation == "identity":
        off = F(1)
    elif net.hidden_activation == "leaky_relu":
        off = F(net.negative_slope)
    else:
        off = F(0)
    return coefs, biases, off


def _next_maps(maps, on, w, b, off):
    """Maps of the next layer from this layer's maps (each a tuple of coefficients)."""
    n_in, n_out = len(w), len(w[0])
    width = len(maps[0])
    out = []
    for j in range(n_out):
        coef = [F(0)] * width
        for k in range(n_in):
            slope = F(1) if on[k] else off
            if slope == 0 or w[k][j] == 0:
                continue
            factor = slope * w[k][j]
            for i in range(width):
                coef[i] += maps[k][i] * factor
        coef[-1] += b[j]
        out.append(tuple(coef))
    return out


def _clip(polygon: list[Point], a: F, b: F, c: F, keep_positive: bool) -> list[Point]:
    out: list[Point] = []
    n = len(polygon)
    for i in range(n):
        p, q = polygon[i], polygon[(i + 1) % n]
        fp = a * p[0] + b * p[1] + c
        fq = a * q[0] + b * q[1] + c
        inside_p = fp >= 0 if keep_positive else fp <= 0
        if inside_p:
            out.append(p)
        if (fp > 0 and fq < 0) or (fp < 0 and fq > 0):
            t = fp / (fp - fq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    # Drop repeated points (a vertex exactly on the line is kept once).
    cleaned: list[Point] = []
    for point in out:
        if not cleaned or cleaned[-1] != point:
            cleaned.append(point)
    while len(cleaned) > 1 and cleaned[0] == cleaned[-1]:
        cleaned.pop()
    return cleaned


def area(polygon: list[Point]) -> F:
    n = len(polygon)
    return (
        sum(
            (
                polygon[i][0] * polygon[(i + 1) % n][1] - polygon[(i + 1) % n][0] * polygon[i][1]
                for i in range(n)
            ),
            F(0),
        )
        / 2
    )


def exact_regions(net: Network, box) -> list[ExactRegion]:
    """Every activation region of a two-input network on ``box``, exactly."""
    (x0, y0), (x1, y1) = box
    x0, y0, x1, y1 = (F(float(v)) for v in (x0, y0, x1, y1))
    coefs, biases, off = _weights(net)
    w0, b0 = coefs[0], biases[0]
    first = [(w0[0][j], w0[1][j], b0[j]) for j in range(len(b0))]
    # (polygon, pattern so far, maps of the current layer's pre-activations)
    cells = [([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], "", first)]
    for layer in range(len(coefs) - 1):
        n_units = len(biases[layer])
        layer_cells = [(poly, pattern, maps, []) for poly, pattern, maps in cells]
        for j in range(n_units):
            nxt = []
            for poly, pattern, maps, on in layer_cells:
                a, b, c = maps[j]
                values = [a * x + b * y + c for x, y in poly]
                if net.hidden_activation == "identity" or not (
                    any(v > 0 for v in values) and any(v < 0 for v in values)
                ):
                    state = net.hidden_activation == "identity" or any(v > 0 for v in values)
                    nxt.append((poly, pattern, maps, [*on, state]))
                    continue
                for keep, state in ((True, True), (False, False)):
                    part = _clip(poly, a, b, c, keep)
                    if area(part) > 0:
                        nxt.append((part, pattern, maps, [*on, state]))
            layer_cells = nxt
        cells = []
        for poly, pattern, maps, on in layer_cells:
            new_maps = _next_maps(maps, on, coefs[layer + 1], biases[layer + 1], off)
            bits = "".join("1" if s else "0" for s in on)
            cells.append((poly, pattern + bits, new_maps))
    return [
        ExactRegion(poly, pattern, [(m[0], m[1]) for m in maps], [m[2] for m in maps])
        for poly, pattern, maps in cells
    ]


def _shares_edge(p: list[Point], q: list[Point]) -> bool:
    """Whether two convex polygons share a boundary piece of positive length."""
    for i in range(len(p)):
        a, b = p[i], p[(i + 1) % len(p)]
        d = (b[0] - a[0], b[1] - a[1])
        for k in range(len(q)):
            c, e = q[k], q[(k + 1) % len(q)]
            cross1 = d[0] * (c[1] - a[1]) - d[1] * (c[0] - a[0])
            cross2 = d[0] * (e[1] - a[1]) - d[1] * (e[0] - a[0])
            if cross1 != 0 or cross2 != 0:
                continue
            dot = d[0] * d[0] + d[1] * d[1]
            t1 = (d[0] * (c[0] - a[0]) + d[1] * (c[1] - a[1])) / dot
            t2 = (d[0] * (e[0] - a[0]) + d[1] * (e[1] - a[1])) / dot
            if min(max(t1, t2), F(1)) - max(min(t1, t2), F(0)) > 0:
                return True
    return False


def exact_linear_region_count(regions: list[ExactRegion]) -> int:
    """Connected groups of regions joined across shared edges where their maps agree."""
    parent = list(range(len(regions)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, r in enumerate(regions):
        for k in range(i + 1, len(regions)):
            s = regions[k]
            if (
                r.gradient == s.gradient
                and r.intercept == s.intercept
                and _shares_edge(r.polygon, s.polygon)
            ):
                parent[find(i)] = find(k)
    return len({find(i) for i in range(len(regions))})


def exact_knots(net: Network, lo: float, hi: float) -> tuple[list[F], list[F]]:
    """Breakpoints (where some unit switches) and knots (where some output's slope changes)."""
    coefs, biases, off = _weights(net)
    a, b = F(lo), F(hi)
    first = [(coefs[0][0][j], biases[0][j]) for j in range(len(biases[0]))]
    cells = [(a, b, first, "")]
    for layer in range(len(coefs) - 1):
        out = []
        for left, right, maps, pattern in cells:
            cuts = set()
            if net.hidden_activation != "identity":
                for slope, const in maps:
                    if slope != 0:
                        root = -const / slope
                        if left < root < right:
                            cuts.add(root)
            ends = [left, *sorted(cuts), right]
            for u, v in zip(ends[:-1], ends[1:], strict=True):
                mid = (u + v) / 2
                on = [s * mid + c > 0 for s, c in maps]
                if net.hidden_activation == "identity":
                    on = [True] * len(maps)
                new_maps = _next_maps(maps, on, coefs[layer + 1], biases[layer + 1], off)
                bits = "".join("1" if s else "0" for s in on)
                out.append((u, v, new_maps, pattern + bits))
        cells = out
    breakpoints, knots = [], []
    for (_, v, m1, p1), (_, _, m2, p2) in zip(cells[:-1], cells[1:], strict=True):
        if p1 != p2:
            breakpoints.append(v)
            if [s for s, _ in m1] != [s for s, _ in m2]:
                knots.append(v)
    return breakpoints, knots
