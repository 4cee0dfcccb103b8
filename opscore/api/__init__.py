"""The REST API: flask-smorest blueprints over the services."""

from .app import create_app

__all__ = ["create_app"]
