"""The query context's rules: what a donation contributes to each read model. No AWS, no HTTP."""
