"""Sign-in, sessions and API tokens: the auth function's package."""
