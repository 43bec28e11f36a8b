"""Geometry round trips (property-based): masks <-> polygons, boxes, rotated boxes, and RLE."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from anymask.annotations import rle
from anymask.annotations.geometry import (
    box_to_mask,
    mask_iou,
    mask_to_box,
    mask_to_polygons,
    mask_to_rotated_box,
    polygons_to_mask,
    rotated_box_to_mask,
)


@st.composite
def masks(draw, max_side=48):
    """Empty, one-pixel, border-touching, blobby and many-hole masks."""
    height = draw(st.integers(1, max_side))
    width = draw(st.integers(1, max_side))
    kind = draw(st.sampled_from(["random", "rects", "holes", "pixel", "empty", "full"]))
    mask = np.zeros((height, width), dtype=bool)
    if kind == "random":
        mask = draw(arrays(bool, (height, width)))
    elif kind == "rects":
        for _ in range(draw(st.integers(1, 4))):
            y0, x0 = draw(st.integers(0, height - 1)), draw(st.integers(0, width - 1))
            mask[y0 : y0 + draw(st.integers(1, height)), x0 : x0 + draw(st.integers(1, width))] = True
    elif kind == "holes":
        mask[:] = True
        for _ in range(draw(st.integers(1, 12))):
            mask[draw(st.integers(0, height - 1)), draw(st.integers(0, width - 1))] = False
    elif kind == "pixel":
        mask[draw(st.integers(0, height - 1)), draw(st.integers(0, width - 1))] = True
    elif kind == "full":
        mask[:] = True
    return mask


@settings(max_examples=300, deadline=None)
@given(masks())
def test_rle_round_trip(mask):
    encoded = rle.encode(mask)
    assert np.array_equal(rle.decode(encoded), mask)
    assert rle.area(encoded) == mask.sum()


@settings(max_examples=300, deadline=None)
@given(masks())
def test_polygons_exact_at_zero_tolerance(mask):
    """tolerance 0: the mask comes back exactly, except 1-pixel-wide diagonal gaps between parts (IoU >= 0.9)."""
    polygons = mask_to_polygons(mask, tolerance=0)
    back = polygons_to_mask(polygons, *mask.shape)
    if not mask.any():
        assert polygons == [] and not back.any()
        return
    assert mask_iou(mask, back) >= 0.9
    assert np.logical_and(mask, ~back).sum() == 0  # no foreground pixel is lost
    rings = polygons_to_mask([p.ring() for p in polygons], *mask.shape)
    assert np.logical_and(mask, ~rings).sum() == 0


@settings(max_examples=200, deadline=None)
@given(masks(), st.floats(0.5, 4.0))
def test_simplified_polygons_stay_within_tolerance(mask, tolerance):
    """Every pixel that simplification adds or drops lies within tolerance + 1.5 px of the mask's boundary."""
    import cv2

    polygons = mask_to_polygons(mask, tolerance)
    assert all(len(p.exterior) >= 3 or len(mask_to_polygons(mask, 0)[i].exterior) < 3 for i, p in enumerate(polygons))
    back = polygons_to_mask(polygons, *mask.shape)
    inside = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    outside = cv2.distanceTransform(np.pad(~mask, 1, constant_values=True).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    lost = mask & ~back
    gained = back & ~mask
    assert np.all(inside[lost] <= tolerance + 1.5)
    assert np.all(outside[gained] <= tolerance + 1.5)


def test_simplification_reduces_vertices():
    yy, xx = np.mgrid[0:60, 0:80]
    blob = ((yy - 30) / 20) ** 2 + ((xx - 40) / 30) ** 2 < 1
    exact, simple = mask_to_polygons(blob, 0)[0], mask_to_polygons(blob, 1.5)[0]
    assert len(simple.exterior) < len(exact.exterior) / 4
    assert mask_iou(blob, polygons_to_mask([simple], 60, 80)) > 0.97


@settings(max_examples=300, deadline=None)
@given(masks())
def test_boxes_enclose_the_mask(mask):
    box = mask_to_box(mask)
    rotated = mask_to_rotated_box(mask)
    if not mask.any():
        assert box is None and rotated is None
        return
    filled = box_to_mask(box, *mask.shape)
    assert np.logical_and(mask, ~filled).sum() == 0
    points, direction = rotated
    assert len(points) == 4 and 0 <= direction < 2 * math.pi
    rotated_mask = rotated_box_to_mask(points, *mask.shape)
    covered = np.logical_and(mask, rotated_mask).sum() / mask.sum()
    assert covered >= 0.95  # the rotated box covers the mask (pixel centres on its edge may fall out)


def test_holes_and_components():
    mask = np.zeros((40, 50), bool)
    mask[5:30, 5:40] = True
    mask[10:20, 10:20] = False
    mask[22:26, 30:34] = False
    mask[32:36, 42:48] = True
    polygons = mask_to_polygons(mask, tolerance=0)
    assert sorted(len(p.holes) for p in polygons) == [0, 2]
    assert np.array_equal(polygons_to_mask(polygons, 40, 50), mask)
    assert np.array_equal(polygons_to_mask([p.ring() for p in polygons], 40, 50), mask)
    assert len(mask_to_polygons(mask, tolerance=0, min_area=50)) == 1


def test_rotated_box_of_a_tilted_rectangle():
    import cv2

    mask = np.zeros((80, 80), np.uint8)
    corners = cv2.boxPoints(((40, 40), (40, 16), 30)).astype(np.int32)
    cv2.fillPoly(mask, [corners], 1)
    points, direction = mask_to_rotated_box(mask.astype(bool))
    assert math.degrees(direction) % 90 == pytest_approx(30, 2) or math.degrees(direction) % 90 == pytest_approx(60, 2)
    assert mask_iou(mask.astype(bool), rotated_box_to_mask(points, 80, 80)) > 0.8


def pytest_approx(value, tolerance):
    import pytest

    return pytest.approx(value, abs=tolerance)


def test_thousands_of_components_join_into_one_ring_quickly():
    import time

    from anymask.annotations.polygon_cache import single_ring

    mask = np.zeros((200, 200), bool)
    mask[::4, ::4] = True  # 2500 one-pixel components
    mask[::4, 1::4] = True
    started = time.perf_counter()
    ring = single_ring(mask_to_polygons(mask, 0.0, pixel_edges=True))
    assert time.perf_counter() - started < 5.0  # was minutes: every bridge compared against the whole ring
    from pycocotools import mask as coco_mask  # what COCO and YOLO users decode polygons with

    decoded = coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects([ring.flatten().tolist()], 200, 200)))
    np.testing.assert_array_equal(decoded.astype(bool), mask)
