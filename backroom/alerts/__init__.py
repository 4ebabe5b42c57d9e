"""Exception alerts: one record per cause (by key), raised by the sweep and by use cases,
acknowledged, assigned and resolved by people, auto-resolved when the cause clears."""
