"""Credentials and who they belong to: sessions, API tokens, bearer JWTs, and the principal they yield.

Used by the HTTP API's authorizer (every request) and by the functions that issue or revoke
credentials. Only hashes of secrets are ever stored.
"""
