"""Payment requests: the pr function's package."""
