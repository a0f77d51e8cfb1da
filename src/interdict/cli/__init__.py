"""Command-line adapter: ``interdict`` and its command groups."""
