"""Audit and security-event queries: the audit function's package."""
