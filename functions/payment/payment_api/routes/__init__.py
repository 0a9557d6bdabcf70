"""The payment function's routes, one router per resource."""
