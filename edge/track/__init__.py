"""Tracking: follow the faces a detector found in a window around each, instead of searching the
whole frame every frame.

A room of its own, behind a small interface: a detector plug-in says how it wants its faces followed
(:class:`Tracking`, from its ``tracking(cfg)``), and :class:`TrackingDetector` wraps it with that
plan (:func:`edge.detectors.make.make_detector` when ``detector.track`` is on). It needs of a
detector only what :class:`Finder` says, and imports none of them; motion comes from :mod:`edge.motion`.
"""

from __future__ import annotations

from .tracker import Finder, Tracking, TrackingDetector, Window  # noqa: F401
