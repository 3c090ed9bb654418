"""Reports for supervisors, computed from the ledger."""
