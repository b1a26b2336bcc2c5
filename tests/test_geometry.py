"""Box: the one x, y, w, h rectangle (faces and tracking windows are boxes), and its geometry."""

from __future__ import annotations

import pytest

from edge.detectors.base import Face
from edge.geometry import Box, distance_m, face_px
from edge.track import Window


def test_area_corners_and_centre():
    box = Box(10, 20, 30, 40)
    assert (box.area, box.x1, box.y1, box.center, box.xywh) == (1200, 40, 60, (25.0, 40.0), (10, 20, 30, 40))


def test_iou_is_one_for_the_same_box_and_zero_for_boxes_apart():
    assert Box(0, 0, 10, 10).iou(Box(0, 0, 10, 10)) == 1.0
    assert Box(0, 0, 10, 10).iou(Box(10, 0, 10, 10)) == 0.0
    assert Box(0, 0, 10, 10).iou(Box(5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert Box(0, 0, 0, 0).iou(Box(0, 0, 0, 0)) == 0.0


def test_grown_adds_the_margin_times_the_size_on_every_side():
    assert Box(100, 100, 40, 20).grown(0.25) == Box(90, 95, 60, 30)


def test_grown_rounds_each_edge_half_to_even():
    # left 11 - 2.5 = 8.5 -> 8, right 11 + 12.5 = 23.5 -> 24; top -2.5 -> -2, bottom 12.5 -> 12
    assert Box(11, 0, 10, 10).grown(0.25).xywh == (8, -2, 16, 14)


def test_padded_adds_whole_pixels_and_keeps_the_box_centred():
    box = Box(100, 100, 41, 21)
    assert box.padded(20, 10) == Box(80, 90, 81, 41) and box.padded(20, 10).center == box.center


def test_clipped_keeps_the_part_inside_the_frame():
    assert Box(-10, 5, 30, 300).clipped(320, 240) == Box(0, 5, 20, 235)


def test_a_box_outside_the_frame_clips_to_an_empty_one():
    assert Box(-20, -20, 10, 10).clipped(320, 240).area == 0
    assert Box(400, 10, 10, 10).clipped(320, 240).area == 0


def test_scaled_and_moved():
    assert Box(10, 11, 20, 21).scaled(2.0) == Box(20, 22, 40, 42)
    assert Box(10, 11, 20, 21).scaled(0.5) == Box(5, 6, 10, 10)
    assert Box(10, 11, 20, 21).moved(5, -1) == Box(15, 10, 20, 21)
    assert Box(5, 6, 10, 10).unscaled(0.5) == Box(10, 12, 20, 20)


def test_from_corners_rounds_each_corner():
    assert Box.from_corners(9.6, 10.4, 20.4, 30.6) == Box(10, 10, 10, 21)


def test_a_face_keeps_its_score_through_every_operation():
    face = Face(10, 10, 20, 20, 0.8)
    for moved in (face.grown(0.1), face.padded(2, 2), face.clipped(15, 15), face.scaled(2.0),
                  face.unscaled(0.5), face.moved(1, 1),
                  Face.from_corners(1, 1, 5, 5, score=0.8)):
        assert isinstance(moved, Face) and moved.score == 0.8


def test_a_face_is_not_equal_to_a_bare_box_of_the_same_pixels():
    assert Face(1, 2, 3, 4) != Box(1, 2, 3, 4)
    assert Face(1, 2, 3, 4).xywh == Box(1, 2, 3, 4).xywh


def test_a_window_is_a_box_with_the_scale_it_was_resized_by():
    win = Window(100, 50, 200, 200, 0.5)
    assert win.area == 40000 and win.scale == 0.5


def test_face_width_and_distance_are_inverse():
    assert distance_m(face_px(3.5, 1280), 1280) == pytest.approx(3.5)
