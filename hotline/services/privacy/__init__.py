"""A person's data by phone number (export, erase) and retention of calls, alerts and page texts."""
