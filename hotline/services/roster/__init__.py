"""The duty roster: who is on duty, service windows, the holiday calendar, roster files, notices."""
