"""The one alert queue every domain writes to, with live push (SSE, webhooks, NATS)."""
