"""Temporal activities: thin adapters over backroom services. Each module exposes
`build(deps) -> list` returning its activity callables, given the shared dependencies."""
