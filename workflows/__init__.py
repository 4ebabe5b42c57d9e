"""Temporal workflow classes (deterministic only). Each module lists its classes in WORKFLOWS."""
