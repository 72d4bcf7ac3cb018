"""The rewards bounded context."""
