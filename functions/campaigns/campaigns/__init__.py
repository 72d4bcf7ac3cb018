"""The campaigns bounded context."""
