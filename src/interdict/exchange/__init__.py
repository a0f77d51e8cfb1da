"""Secure intelligence exchange between agencies: identifier matching and signed envelopes."""
