"""The admin bounded context."""
