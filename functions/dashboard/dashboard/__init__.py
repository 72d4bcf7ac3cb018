"""The dashboard bounded context."""
