"""WSGI entry point: gunicorn 'wsgi:app' (see docs/operations.md). Also FLASK_APP for the CLI."""
import sys

from app import create_app
from app.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:  # a bad setting: say which, without a traceback
    sys.stderr.write(f"baocao: configuration error: {exc}\n")
    raise SystemExit(2) from None

if "gunicorn" in sys.modules:  # a web worker: import the map's class-break library now, not on the first map (~3 s)
    import threading

    threading.Thread(target=lambda: __import__("app.adapters.maps").adapters.maps.breaks([*map(__import__("decimal").Decimal, range(7))]), daemon=True).start()
