"""JSON API routers under /api/v1, one module per domain; app.py includes every `router`."""
