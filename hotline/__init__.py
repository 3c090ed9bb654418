"""hotline: watches an IT-support hotline so that no caller is left unanswered."""

__version__ = "0.1.0"
