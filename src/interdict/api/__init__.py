"""HTTP adapter: ``create_app(settings)`` assembles platform and domain routers."""
