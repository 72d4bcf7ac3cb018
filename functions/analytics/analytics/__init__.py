"""The analytics bounded context."""
