"""Payments' rules: the payment state machine, payables and refunds. No AWS, no HTTP."""
