"""Identity's rules: accounts, passwords, login throttling. No AWS, no HTTP."""
