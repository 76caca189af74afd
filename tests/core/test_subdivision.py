"""Shared vertices and T-junctions on brick walls, checked against a brute-force search."""

import numpy as np
import pytest

from relumap_service.core.subdivision import shared_vertices


def brick_wall(rng, n_rows=4, width=12):
    """Rows of unit-height rectangles with integer breaks drawn per row.

    Returns the polygons' corners (counter-clockwise), each edge's line, the
    offsets, each edge's side of its line, and every line's direction. Lines:
    0-3 the wall's outer sides, then one per row boundary and one per break
    of a row. Wherever two rows break at different places, a corner lies
    inside an edge of the neighbouring row.
    """
    points, lines, sides, offsets = [], [], [], [0]
    directions = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
    row_line = {}
    for r in range(1, n_rows):
        row_line[r] = len(directions)
        directions.append([1.0, 0.0])
    for r in range(n_rows):
        inner = rng.choice(np.arange(1, width), size=rng.integers(0, 5), replace=False)
        xs = [0, *np.sort(inner).tolist(), width]
        break_line = {}
        for x in xs[1:-1]:
            break_line[x] = len(directions)
            directions.append([0.0, 1.0])
        for x0, x1 in zip(xs[:-1], xs[1:], strict=True):
            # Counter-clockwise: bottom, right side, top, left side.
            points += [[x0, r], [x1, r], [x1, r + 1], [x0, r + 1]]
            lines += [
                0 if r == 0 else row_line[r],
                break_line.get(x1, 1),
                2 if r == n_rows - 1 else row_line[r + 1],
                break_line.get(x0, 3),
            ]
            # Above its bottom line, below its top line, left of its right
            # break and right of its left break; 0 on the wall's outer sides.
            sides += [0 if r == 0 else 1, -1 if x1 < width else 0]
            sides += [0 if r == n_rows - 1 else -1, 1 if x0 > 0 else 0]
            offsets.append(len(points))
    return (
        np.array(points, dtype=float),
        np.array(lines),
        np.array(offsets),
        np.array(sides, np.int8),
        np.array(directions),
    )


def brute_force(points, offsets, table, index, sub_offsets):
    """Each polygon's corners with every table point strictly inside its edges, in order."""
    # The wall's coordinates are small integers: exact in Python ints.
    exact = [(int(x), int(y)) for x, y in table.tolist()]
    lookup = {p: i for i, p in enumerate(exact)}
    out = []
    for p in range(offsets.size - 1):
        corners = [(int(x), int(y)) for x, y in points[offsets[p] : offsets[p + 1]].tolist()]
        ring = []
        for k, a in enumerate(corners):
            b = corners[(k + 1) % len(corners)]
            ring.append(lookup[a])
            inside = []
            for q in exact:
                cross = (b[0] - a[0]) * (q[1] - a[1]) - (b[1] - a[1]) * (q[0] - a[0])
                t = (q[0] - a[0]) * (b[0] - a[0]) + (q[1] - a[1]) * (b[1] - a[1])
                length = (b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2
                if cross == 0 and 0 < t < length:
                    inside.append((t, lookup[q]))
            ring += [i for _, i in sorted(inside)]
        out.append(ring)
    return out


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("with_sides", [True, False])
def test_points_inside_edges_match_a_brute_force_search(seed, with_sides):
    rng = np.random.default_rng(seed)
    points, lines, offsets, sides, directions = brick_wall(rng)
    sub = shared_vertices(
        points,
        lines,
        offsets,
        np.zeros(points.shape[0]),
        lambda i, j: np.zeros(i.size, dtype=bool),
        directions,
        sides if with_sides else None,
    )
    # Every distinct corner once.
    assert sub.points.shape[0] == np.unique(points, axis=0).shape[0]
    expected = brute_force(points, offsets, sub.points, sub.index, sub.offsets)
    got = [sub.index[a:b].tolist() for a, b in zip(sub.offsets[:-1], sub.offsets[1:], strict=True)]
    assert got == expected
    assert sum(len(r) for r in expected) > points.shape[0]  # the wall has T-junctions


def test_a_wall_without_junctions_is_left_as_it_is():
    rows = [[0, 0], [2, 0], [2, 1], [0, 1], [2, 0], [3, 0], [3, 1], [2, 1]]
    rows += [[0, 1], [2, 1], [2, 2], [0, 2], [2, 1], [3, 1], [3, 2], [2, 2]]
    points = np.array(rows, dtype=float)
    # Lines: 0-3 outer sides, 4: y = 1, 5: x = 2 (crossing the whole wall).
    lines = np.array([0, 5, 4, 3, 0, 1, 4, 5, 4, 5, 2, 3, 4, 1, 2, 5])
    sides = np.array([0, -1, -1, 0, 0, 0, -1, 1, 1, -1, 0, 0, 1, 0, 0, 1], np.int8)
    directions = np.array([[1.0, 0], [0, 1], [1, 0], [0, 1], [1, 0], [0, 1]])
    sub = shared_vertices(
        points,
        lines,
        np.arange(0, 17, 4),
        np.zeros(16),
        lambda i, j: np.zeros(i.size, dtype=bool),
        directions,
        sides,
    )
    assert sub.points.shape[0] == 9
    np.testing.assert_array_equal(sub.offsets, np.arange(0, 17, 4))
    np.testing.assert_array_equal(sub.points[sub.index], points)
    # Each edge inside the wall is paired with the one across it; outer edges with none.
    twin = [
        -1,
        4 + 3,
        8 + 0,
        -1,
        -1,
        -1,
        12 + 0,
        0 + 1,
        0 + 2,
        12 + 3,
        -1,
        -1,
        4 + 2,
        -1,
        -1,
        8 + 1,
    ]
    np.testing.assert_array_equal(sub.twin, twin)


def test_a_wall_with_junctions_has_no_twins():
    rng = np.random.default_rng(0)
    points, lines, offsets, sides, directions = brick_wall(rng)
    no = lambda i, j: np.zeros(i.size, dtype=bool)  # noqa: E731
    sub = shared_vertices(points, lines, offsets, np.zeros(len(points)), no, directions, sides)
    assert sub.twin is None
