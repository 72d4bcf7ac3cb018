"""The profiles bounded context."""
