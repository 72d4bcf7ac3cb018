"""The billing bounded context."""
