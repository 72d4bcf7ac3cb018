"""The schedule bounded context."""
