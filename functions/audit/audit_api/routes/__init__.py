"""The audit function's routes, one router per concern."""
