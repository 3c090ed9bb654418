"""Roster files: the desk file (YAML), the dated roster table (.xlsx / .csv) and calendars (.ics)."""
