"""WSGI entry point: ``gunicorn wsgi:app``."""
from fse_fad.app import create_app

app = create_app()
