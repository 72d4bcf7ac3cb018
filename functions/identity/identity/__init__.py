"""The identity bounded context."""
