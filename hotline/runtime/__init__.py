"""Wiring of the long-running processes: database and ingest assembly, the AMI listener, the scheduler,
the PBX sync and the demo. Used by the entry points (`api`, `cli`) only."""
