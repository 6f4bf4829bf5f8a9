"""WSGI entry point: gunicorn 'wsgi:app' (see docs/operations.md)."""
from app import create_app

app = create_app()
