"""Real-time sync (HTTP side): the sync function's package."""
