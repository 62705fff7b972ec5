"""The key of patient digests (HMAC of resident ID numbers) and disease fingerprints.

`HUB_PII_KEY` (settings.pii_key, at least 16 bytes) is the production setting: kept in the
deployment's secret store, apart from the database, so that a copy of the database alone
does not allow trying ID numbers against the digests. Without it the service generates a
random 32-byte key on first start and keeps it in its own database (`incidents_keys`),
shared by every replica and stable across restarts, and warns at each start. Changing the
key later makes new digests differ from old ones: repeat diagnoses are then recognised
only among diagnoses digested with the same key, and a diagnosis sent again after the
change is answered 409 (its keyed fingerprint differs).
"""

from __future__ import annotations

import logging
import secrets
from typing import Final

from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError

from hub_shared.storage.db import SessionFactory
from incidents.tables import IncidentsKey

log = logging.getLogger(__name__)

MIN_KEY_BYTES: Final = 16
KEY_NAME: Final = "pii-digest"


class PiiKey:
    """Holds the key once loaded; `key` refuses to answer before that."""

    def __init__(self, configured: SecretStr | None) -> None:
        self._key: bytes | None = None
        if configured is not None:
            raw = configured.get_secret_value().encode()
            if len(raw) < MIN_KEY_BYTES:
                raise ValueError(f"HUB_PII_KEY must be at least {MIN_KEY_BYTES} bytes long")
            self._key = raw
        self.configured = configured is not None

    async def load(self, sessions: SessionFactory) -> None:
        """Use the configured key, or the one stored in the database (created if missing)."""
        if self._key is not None:
            return
        log.warning(
            "HUB_PII_KEY is not set: patient digests use a key stored in the incidents "
            "database; set HUB_PII_KEY in production"
        )
        self._key = await _stored_key(sessions)

    @property
    def key(self) -> bytes:
        if self._key is None:
            raise RuntimeError("the PII key has not been loaded")
        return self._key


async def _stored_key(sessions: SessionFactory) -> bytes:
    async with sessions() as session:
        row = await session.get(IncidentsKey, KEY_NAME)
        if row is not None:
            return bytes.fromhex(row.secret_hex)
    try:
        async with sessions() as session, session.begin():
            session.add(IncidentsKey(name=KEY_NAME, secret_hex=secrets.token_hex(32)))
    except IntegrityError:
        pass  # another replica created it first: use theirs
    async with sessions() as session:
        row = await session.get(IncidentsKey, KEY_NAME)
        if row is None:
            raise RuntimeError("the PII key could not be stored")
        return bytes.fromhex(row.secret_hex)
