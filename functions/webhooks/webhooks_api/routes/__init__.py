"""HTTP routes of the webhooks function."""
