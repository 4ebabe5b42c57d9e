"""Backroom: a retailer's back office, its long-running work as Temporal workflows."""
