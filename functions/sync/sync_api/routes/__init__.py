"""The sync function's HTTP routes."""
