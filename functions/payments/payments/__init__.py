"""The payments bounded context."""
