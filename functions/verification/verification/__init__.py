"""The verification bounded context."""
