"""The local stack: Payreq on one machine with no cloud account and no Docker."""
