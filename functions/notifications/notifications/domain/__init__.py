"""Notification rules: what each event says to whom, on which channels, and what preferences allow."""
