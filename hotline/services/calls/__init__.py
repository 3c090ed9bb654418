"""Calls: the ledger (call events in, calls stored, listeners told), Twilio calls, the PBX's AstDB sync."""
