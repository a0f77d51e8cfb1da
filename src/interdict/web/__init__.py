"""Server-rendered web UI (Jinja2 + htmx); each domain adds pages and navigation entries."""
