from enrollment.app import create_app
from hub_shared.server import serve

serve("enrollment", create_app)
