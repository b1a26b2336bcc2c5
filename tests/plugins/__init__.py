"""pytest plugins of the mood-edge test suite."""
