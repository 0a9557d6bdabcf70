"""The payment-request function's routes, one router per resource."""
