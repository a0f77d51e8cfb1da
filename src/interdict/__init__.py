"""Interdict: an intelligence platform for agencies that fight drug production and trafficking."""

__version__ = "0.1.0"
