"""The query bounded context."""
