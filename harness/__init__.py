"""Harnesses that probe the whole running stack: `make fuzz` (OpenAPI fuzzing)."""
