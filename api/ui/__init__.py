"""Staff UI and storefront pages, one module per domain; each may export `router` and `NAV`
entries (label, path, (function, action), order) for the staff menu."""
