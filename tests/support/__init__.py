"""Helpers shared by the test suites: databases, real-shaped events, a Lambda context."""
