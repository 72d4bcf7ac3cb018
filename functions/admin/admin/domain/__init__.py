"""Admin's rules in plain Python: dashboard buckets, audit records, system notifications."""
