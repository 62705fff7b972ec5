"""`python -m notifier`: run the notifier with uvicorn."""

from hub_shared.server import serve
from notifier.app import create_app

serve("notifier", create_app)
