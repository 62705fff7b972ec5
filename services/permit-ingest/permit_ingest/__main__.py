from hub_shared.server import serve
from permit_ingest.app import create_app

serve("permit-ingest", create_app)
