"""Donations' rules: plain Python, no AWS."""
