"""The finance bounded context."""
