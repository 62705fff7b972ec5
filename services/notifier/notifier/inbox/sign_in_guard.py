"""Cross-site request forgery on the dashboard's sign-in form (login CSRF: another site
signing a browser in with the attacker's token). The form carries a random value that
must equal a SameSite=Strict cookie set with the form (a cross-site post sends neither
the cookie nor a readable copy), and a post whose Origin is another site is refused."""

from __future__ import annotations

import hmac
import secrets
from typing import Final
from urllib.parse import urlsplit

from fastapi import Request, Response

from hub_shared.web.web_sessions import secure_cookies

CSRF_COOKIE: Final = "hub_sign_in_csrf"
CSRF_FIELD: Final = "csrf"


def issue(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        value,
        max_age=3600,
        path="/dashboard",
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )


def new_value() -> str:
    return secrets.token_urlsafe(32)


def genuine(request: Request, form: dict[str, list[str]]) -> bool:
    """True when the post came from this service's own sign-in form."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        return False
    cookie = request.cookies.get(CSRF_COOKIE, "")
    given = (form.get(CSRF_FIELD) or [""])[0]
    return bool(cookie) and hmac.compare_digest(cookie.encode(), given.encode())
