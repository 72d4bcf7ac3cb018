"""The donations bounded context."""
