"""Payment methods and payments: the payment function's package."""
