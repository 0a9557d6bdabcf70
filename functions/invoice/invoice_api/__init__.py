"""Invoices: the invoice function's package."""
