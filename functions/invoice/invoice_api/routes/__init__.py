"""The invoice function's routes, one router per resource."""
