"""Signing in to the office dashboard as a browser does: the form first, then the post
with the form's anti-forgery value (its cookie rides along in the client's jar)."""

from __future__ import annotations

import re

import httpx


async def sign_in(client: httpx.AsyncClient, token: str) -> httpx.Response:
    form = await client.get("/dashboard/login")
    found = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert found, "the sign-in form carries no anti-forgery value"
    return await client.post("/dashboard/login", data={"token": token, "csrf": found[1]})
