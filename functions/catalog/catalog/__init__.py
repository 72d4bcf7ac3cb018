"""The catalog bounded context."""
