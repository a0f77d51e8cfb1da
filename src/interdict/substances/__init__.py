"""Controlled substances: schedules, identifiers and structure screening."""
