"""Encryption of stored tokens (Fernet: AES-128-CBC with HMAC-SHA256, from `cryptography`).

The key is derived from IMS_BOT_SECRET_KEY, any text the operator keeps secret (or a Fernet
key as `Fernet.generate_key()` prints it, used as is). Without it nothing is stored: the bot
refuses to connect and says why.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from ims_bot.gsp.errors import GspError, NotConfigured

NO_KEY = (
    "IMS_BOT_SECRET_KEY is not set: portal sessions are stored only encrypted, so the bot "
    "cannot connect to the GST portal without it (any long random text; keep it secret and "
    "keep it: changing it forgets every stored session)."
)


class Vault:
    def __init__(self, secret_key: str | None) -> None:
        if not secret_key:
            raise NotConfigured(NO_KEY)
        raw = secret_key.encode()
        try:
            if len(base64.urlsafe_b64decode(raw)) == 32:
                self._fernet = Fernet(raw)
                return
        except ValueError:
            pass
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(raw).digest()))

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            raise GspError(
                "a stored portal session cannot be read with this IMS_BOT_SECRET_KEY (was the "
                "key changed?): connect again"
            ) from None
