"""The spiritual bounded context."""
