"""Campaign rules without AWS: statuses, visibility, donations acceptance, edits, search words."""
