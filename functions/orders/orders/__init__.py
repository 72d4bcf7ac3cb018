"""The orders bounded context."""
