"""Mask geometry: mask <-> polygons (with holes, several components), boxes and rotated boxes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np


@dataclass
class Polygon:
    """One connected component: its outer ring and the rings of its holes, as (N, 2) float x/y arrays."""

    exterior: np.ndarray
    holes: list[np.ndarray] = field(default_factory=list)

    def ring(self) -> np.ndarray:
        """A single ring that also excludes the holes, joined by zero-width bridges (for formats without holes).

        Each hole is bridged to the outer ring or to the hole before it, whichever is nearer.
        """
        return join_rings([self.exterior, *self.holes], chain=False)


CLOSEST_PAIR_LIMIT = 20_000  # vertex pairs compared for the shortest bridge; larger rings use a two-step nearest


def join_rings(rings: list[np.ndarray], chain: bool = True) -> np.ndarray:
    """Join rings into one through zero-width bridges (each bridge is walked there and back).

    chain=True bridges each ring to the one before it in reading order (components of a mask);
    chain=False bridges each ring to the first or to the one before it, whichever is nearer (holes to
    their outer ring or a neighbouring hole). Either way the work grows with the rings' sizes, not with
    the square of all vertices (masks with thousands of components).
    """
    if len(rings) == 1:
        return rings[0]
    order = [0] + sorted(range(1, len(rings)), key=lambda k: (float(rings[k][:, 1].min()), float(rings[k][:, 0].min())))
    attached: dict[int, dict[int, list[tuple[int, int]]]] = {k: {} for k in order}
    for position in range(1, len(order)):
        child, previous = order[position], order[position - 1]
        parent, (i, j, distance) = previous, _closest_pair(rings[previous], rings[child])
        if not chain and previous != order[0]:
            first = _closest_pair(rings[order[0]], rings[child])
            if first[2] < distance:
                parent, (i, j, distance) = order[0], first
        attached[parent].setdefault(i, []).append((child, j))
    return _walk(rings, attached, order[0]).astype(rings[0].dtype, copy=False)


def _walk(rings, attached, root: int) -> list:
    """The root ring's vertices with the attached rings inserted: at a vertex with an attached ring, the
    walk goes round that ring (from its bridge vertex back to it) and returns to the vertex. Iterative,
    since a chain of thousands of components is as deep as it is long; runs between bridges are copied
    as slices."""
    pieces: list = []
    stack: list[tuple] = [("walk", root, 0, False, 0)]
    while stack:
        item = stack.pop()
        if item[0] == "point":
            pieces.append(item[1][None])
            continue
        _, ring, start, closed, step = item
        points = rings[ring]
        count = len(points)
        total = count + (1 if closed else 0)
        stops = sorted((vertex - start) % count for vertex in attached[ring])
        following = next((stop for stop in stops if stop >= step), None)
        end = total if following is None else following + 1
        if end > step:
            pieces.append(points[(start + np.arange(step, end)) % count])
        if following is None:
            continue
        vertex = (start + following) % count
        stack.append(("walk", ring, start, closed, following + 1))
        for child, child_start in reversed(attached[ring][vertex]):
            stack.append(("point", points[vertex]))
            stack.append(("walk", child, child_start, True, 0))
    return np.concatenate(pieces)


def _closest_pair(ring: np.ndarray, other: np.ndarray) -> tuple[int, int, float]:
    """(vertex of ring, vertex of other, squared distance) of a short bridge between two rings."""
    if len(ring) * len(other) <= CLOSEST_PAIR_LIMIT:
        distances = ((ring[:, None, :] - other[None, :, :]) ** 2).sum(-1)
        i, j = np.unravel_index(np.argmin(distances), distances.shape)
        return int(i), int(j), float(distances[i, j])
    i = int(np.argmin(((ring - other[0]) ** 2).sum(-1)))  # nearest to the other ring's first vertex, and back
    distances = ((other - ring[i]) ** 2).sum(-1)
    j = int(np.argmin(distances))
    return i, j, float(distances[j])


EDGE_UPSCALE = 4


def mask_to_polygons(
    mask: np.ndarray, tolerance: float = 1.0, min_area: float = 0.0, pixel_edges: bool = False
) -> list[Polygon]:
    """Polygons of a binary mask, outer rings and holes, simplified to within `tolerance` pixels.

    tolerance 0 is exact (every boundary pixel, with straight runs kept as their two ends); larger values
    give fewer vertices (Douglas-Peucker).
    Components smaller than `min_area` pixels are dropped. By default vertices are boundary pixel
    indices (OpenCV's and X-AnyLabeling's convention). With `pixel_edges`, the rings run along the outer
    edges of the pixels in continuous coordinates where pixel i covers [i, i+1) (COCO's and YOLO's
    convention; traced at 4x and put exactly on the edges).
    """
    binary = np.asarray(mask, dtype=np.uint8)
    if binary.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {binary.shape}")
    rows, cols = np.flatnonzero(binary.any(axis=1)), np.flatnonzero(binary.any(axis=0))
    if rows.size == 0:
        return []
    # trace within the object's box (one blank pixel around it), not the whole frame, then shift back
    top, left = int(rows[0]), int(cols[0])
    crop = np.pad(binary[top : rows[-1] + 1, left : cols[-1] + 1], 1)
    polygons = _crop_polygons(crop, tolerance, min_area, pixel_edges)
    offset = np.array([left - 1, top - 1], dtype=np.float64)
    for polygon in polygons:
        polygon.exterior = polygon.exterior + offset
        polygon.holes = [hole + offset for hole in polygon.holes]
    return polygons


def _crop_polygons(binary: np.ndarray, tolerance: float, min_area: float, pixel_edges: bool) -> list[Polygon]:
    binary = np.ascontiguousarray(binary)
    if pixel_edges:
        scale = EDGE_UPSCALE
        large = np.repeat(np.repeat(binary, scale, axis=0), scale, axis=1)
        polygons = _crop_polygons(large, tolerance * scale, min_area * scale * scale, False)
        for polygon in polygons:
            polygon.exterior = _onto_edges(polygon.exterior, scale)
            polygon.holes = [_onto_edges(hole, scale) for hole in polygon.holes]
        return polygons
    chain = cv2.CHAIN_APPROX_SIMPLE if tolerance <= 0 else cv2.CHAIN_APPROX_NONE  # 0: straight runs as 2 ends
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP, chain)
    parents = hierarchy[0][:, 3]
    outers: dict[int, Polygon] = {}
    for index in np.flatnonzero(parents < 0):
        contour = contours[index]
        if cv2.contourArea(contour) + len(contour) >= min_area:  # + boundary pixels: a 1-pixel mask has area 0
            outers[int(index)] = Polygon(_simplify(contour, tolerance))
    for index in np.flatnonzero(parents >= 0):
        polygon = outers.get(int(parents[index]))
        hole = _simplify(contours[index], tolerance)
        if polygon is not None and len(hole) >= 3:
            polygon.holes.append(hole)
    return list(outers.values())


def _onto_edges(ring: np.ndarray, scale: int) -> np.ndarray:
    """Vertices traced on a `scale`x enlarged mask, moved onto the original pixels' edges.

    Every boundary pixel of the enlarged mask lies in the first or last row/column of an original pixel's
    block: index scale*i is pixel i's left (top) edge, i, and scale*i + scale-1 its right (bottom) edge,
    i + 1. A coordinate inside a block (a vertex Douglas-Peucker kept mid-edge) keeps its centre.
    """
    position = np.mod(ring, scale)
    edges = np.where(position == 0, ring / scale, (ring + 1) / scale)
    moved = np.where((position == 0) | (position == scale - 1), edges, (ring + 0.5) / scale)
    repeated = np.all(moved == np.roll(moved, 1, axis=0), axis=1)  # a diagonal step's two ends meet
    return moved[~repeated] if (~repeated).sum() >= 3 else moved


def _simplify(contour: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker within `tolerance`, halving it until the ring keeps at least 3 vertices."""
    simplified = contour
    while tolerance > 0.25 and len(contour) > 3:
        simplified = cv2.approxPolyDP(contour, tolerance, True)
        if len(simplified) >= 3:
            break
        tolerance /= 2
        simplified = contour
    return simplified.reshape(-1, 2).astype(np.float64)


def polygons_to_mask(
    polygons: list[Polygon] | list[np.ndarray], height: int, width: int, pixel_edges: bool = False
) -> np.ndarray:
    """Rasterise polygons (Polygon objects or plain (N, 2) rings) into a bool HxW mask.

    With `pixel_edges` the coordinates are continuous (pixel i covers [i, i+1), COCO/YOLO) and each ring
    is filled as pycocotools fills it (`edge_polygon_mask`), the rings of a list joined as a union;
    otherwise vertices are boundary pixel indices (see mask_to_polygons).
    """
    if pixel_edges:
        mask = np.zeros((height, width), dtype=bool)
        for polygon in polygons:
            ring = polygon.ring() if isinstance(polygon, Polygon) else polygon  # holes bridged in: even-odd
            mask |= edge_polygon_mask(ring, height, width)
        return mask
    canvas = np.zeros((height, width), dtype=np.uint8)
    for polygon in polygons:
        if not isinstance(polygon, Polygon):
            polygon = Polygon(np.asarray(polygon, dtype=np.float64).reshape(-1, 2))
        exterior = np.round(polygon.exterior).astype(np.int32)
        cv2.fillPoly(canvas, [exterior], 1)
        cv2.polylines(canvas, [exterior], True, 1)
        for hole in polygon.holes:
            ring = np.round(hole).astype(np.int32)
            cv2.fillPoly(canvas, [ring], 0)
            cv2.polylines(canvas, [ring], True, 1)  # hole rings run along foreground pixels
    return canvas.astype(bool)


def edge_polygon_mask(ring: np.ndarray, height: int, width: int) -> np.ndarray:
    """One pixel-edge ring rasterised exactly as pycocotools' `frPyObjects` does (its C `rleFrPoly`).

    The boundary is walked at 5x, and each column toggles in/out where the boundary crosses a pixel
    centre's row (even-odd), so a joined multi-component ring with zero-width bridges fills as its parts.
    A square over [100, 200) is 100 px wide, as in every COCO tool.
    """
    points = np.asarray(ring, dtype=np.float64).reshape(-1, 2)
    scale = 5.0
    xs = np.trunc(scale * points[:, 0] + 0.5).astype(np.int64)  # C's (int)(v + .5): towards zero
    ys = np.trunc(scale * points[:, 1] + 0.5).astype(np.int64)
    xs, ys = np.append(xs, xs[:1]), np.append(ys, ys[:1])
    us, vs = [], []
    for xs_, xe, ys_, ye in zip(xs[:-1], xs[1:], ys[:-1], ys[1:]):
        dx, dy = abs(int(xe - xs_)), abs(int(ys_ - ye))
        flip = (dx >= dy and xs_ > xe) or (dx < dy and ys_ > ye)
        if flip:
            xs_, xe, ys_, ye = xe, xs_, ye, ys_
        if dx >= dy:
            t = np.arange(dx + 1)[::-1] if flip else np.arange(dx + 1)
            slope = (ye - ys_) / dx if dx else 0.0
            us.append(t + xs_)
            vs.append(np.trunc(ys_ + slope * t + 0.5).astype(np.int64))
        else:
            t = np.arange(dy + 1)[::-1] if flip else np.arange(dy + 1)
            slope = (xe - xs_) / dy
            vs.append(t + ys_)
            us.append(np.trunc(xs_ + slope * t + 0.5).astype(np.int64))
    u, v = np.concatenate(us), np.concatenate(vs)
    moved = np.flatnonzero(u[1:] != u[:-1]) + 1
    xd = np.where(u[moved] < u[moved - 1], u[moved], u[moved] - 1).astype(np.float64)
    xd = (xd + 0.5) / scale - 0.5
    keep = (np.floor(xd) == xd) & (xd >= 0) & (xd <= width - 1)
    yd = np.minimum(v[moved], v[moved - 1]).astype(np.float64)
    yd = np.ceil(np.clip((yd + 0.5) / scale - 0.5, 0, height))
    toggles = xd[keep].astype(np.int64) * height + yd[keep].astype(np.int64)  # column-major, as COCO RLE
    flips = np.bincount(toggles, minlength=height * width + 1)[: height * width]
    inside = (np.cumsum(flips) % 2).astype(bool)
    return inside.reshape(width, height).T


def mask_to_box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """(x1, y1, x2, y2) enclosing the mask in pixel-edge coordinates (x2 = last column + 1); None if empty."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def box_to_mask(box, height: int, width: int) -> np.ndarray:
    x1, y1, x2, y2 = box
    mask = np.zeros((height, width), dtype=bool)
    mask[max(0, int(round(y1))) : max(0, int(round(y2))), max(0, int(round(x1))) : max(0, int(round(x2)))] = True
    return mask


def mask_to_rotated_box(mask: np.ndarray) -> tuple[list[list[float]], float] | None:
    """The minimum-area rotated rectangle around the mask: 4 corner points and its direction in radians.

    Points are in pixel-edge coordinates, clockwise on screen starting from the corner the rectangle's
    rotation starts at; direction is the angle of the first edge (p0 -> p1) from the x-axis in [0, 2*pi).
    """
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    # the corners of every pixel, so a one-pixel mask gets a 1x1 box
    corners = np.concatenate([np.stack([xs + dx, ys + dy], 1) for dx in (0, 1) for dy in (0, 1)]).astype(np.float32)
    rect = cv2.minAreaRect(corners)
    points = cv2.boxPoints(rect).astype(np.float64)
    points = _clockwise_from_top_left(points)
    direction = math.atan2(points[1][1] - points[0][1], points[1][0] - points[0][0]) % (2 * math.pi)
    return points.tolist(), direction


def _clockwise_from_top_left(points: np.ndarray) -> np.ndarray:
    centre = points.mean(axis=0)
    angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    ordered = points[np.argsort(angles)]  # increasing angle = clockwise on screen (y down)
    start = int(np.argmin(ordered[:, 0] + ordered[:, 1]))
    return np.roll(ordered, -start, axis=0)


def rotated_box_to_mask(points, height: int, width: int) -> np.ndarray:
    """Rasterise a 4-point rotated box given in pixel-edge coordinates: a pixel is in when its centre is.

    Exact for thin diagonal boxes too (a scan-line fill drops centres there), so the box of a mask from
    `mask_to_rotated_box` contains every pixel of that mask.
    """
    corners = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    mask = np.zeros((height, width), dtype=bool)
    x0, y0 = np.clip(np.floor(corners.min(axis=0)).astype(int), 0, [width, height])
    x1, y1 = np.clip(np.ceil(corners.max(axis=0)).astype(int), 0, [width, height])
    if x1 <= x0 or y1 <= y0:
        return mask
    ys, xs = np.mgrid[y0:y1, x0:x1] + 0.5
    following = np.roll(corners, -1, axis=0)
    cross = [(b[0] - a[0]) * (ys - a[1]) - (b[1] - a[1]) * (xs - a[0]) for a, b in zip(corners, following)]
    cross = np.stack(cross)
    tolerance = 1e-6 * max(1.0, float(np.abs(corners).max()))
    mask[y0:y1, x0:x1] = (cross >= -tolerance).all(axis=0) | (cross <= tolerance).all(axis=0)
    return mask


def rotated_corners(box, degrees: float, pivot: tuple[float, float] | None = None) -> list[list[float]]:
    """The corners of box (x1, y1, x2, y2) turned `degrees` clockwise on screen about `pivot` (its centre,
    as CVAT turns a box, unless given: Label Studio turns one about its top-left corner), clockwise from
    the corner that was top-left."""
    x1, y1, x2, y2 = box
    cx, cy = pivot if pivot is not None else ((x1 + x2) / 2, (y1 + y2) / 2)
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    offsets = [(x1 - cx, y1 - cy), (x2 - cx, y1 - cy), (x2 - cx, y2 - cy), (x1 - cx, y2 - cy)]
    return [[cx + dx * cos - dy * sin, cy + dx * sin + dy * cos] for dx, dy in offsets]


def turned_box_mask(box, degrees: float, height: int, width: int, pivot=None) -> np.ndarray:
    """A box (x1, y1, x2, y2) turned `degrees` clockwise about `pivot` (see `rotated_corners`), filled."""
    turn = degrees % 360
    if turn == 0:
        return box_to_mask(box, height, width)
    return rotated_box_to_mask(rotated_corners(box, turn, pivot), height, width)


def unrotated_box(corners, direction: float) -> tuple[tuple[float, float, float, float], float]:
    """`mask_to_rotated_box`'s corners and direction as CVAT's box: (x1, y1, x2, y2) before turning, and
    the clockwise turn in degrees [0, 360). `rotated_corners` gives the corners back."""
    points = np.asarray(corners, dtype=np.float64).reshape(4, 2)
    cx, cy = points.mean(axis=0)
    half_width = float(np.hypot(*(points[1] - points[0]))) / 2
    half_height = float(np.hypot(*(points[2] - points[1]))) / 2
    box = (cx - half_width, cy - half_height, cx + half_width, cy + half_height)
    return tuple(float(v) for v in box), math.degrees(direction) % 360


def ellipse_mask(cx: float, cy: float, rx: float, ry: float, degrees: float, height: int, width: int) -> np.ndarray:
    """An ellipse (centre, radii, turned `degrees` clockwise on screen) filled: a pixel is in when its
    centre is (pixel-edge coordinates, as CVAT's ellipses)."""
    mask = np.zeros((height, width), dtype=bool)
    reach = max(abs(rx), abs(ry))
    x0, y0 = (int(np.clip(math.floor(c - reach), 0, n)) for c, n in ((cx, width), (cy, height)))
    x1, y1 = (int(np.clip(math.ceil(c + reach), 0, n)) for c, n in ((cx, width), (cy, height)))
    if x1 <= x0 or y1 <= y0 or rx == 0 or ry == 0:
        return mask
    ys, xs = np.mgrid[y0:y1, x0:x1] + 0.5
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    along = (xs - cx) * cos + (ys - cy) * sin  # the ellipse's own axes
    across = -(xs - cx) * sin + (ys - cy) * cos
    mask[y0:y1, x0:x1] = (along / rx) ** 2 + (across / ry) ** 2 <= 1
    return mask


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)
