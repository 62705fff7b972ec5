"""The HTTP edge every service shares: problem+json errors, bearer auth and its limits,
body limits and media types, Standard Webhooks, sessions and links for pages, security
headers, the OpenAPI document as answered, and what plain ASGI middlewares note.
"""
