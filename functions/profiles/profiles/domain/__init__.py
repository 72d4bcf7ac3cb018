"""Profile rules: what a user may set about themselves. No AWS, no HTTP."""
