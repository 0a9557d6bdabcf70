"""The auth function's routes, one router per concern."""
