"""`python -m incidents`: run the incidents service."""

from hub_shared.server import serve
from incidents.app import create_app

serve("incidents", create_app)
