"""Per-run secrets and their redaction from everything the suite writes."""

from __future__ import annotations

import re
import secrets

REDACTED = "[REDACTED]"
# LiteLLM virtual keys and master keys look like sk-...; redact any of them, not only ours.
_SK_TOKEN = re.compile(r"sk-[A-Za-z0-9_\-]{8,}")


def new_key() -> str:
    """A strong random key (LiteLLM 1.106 refuses weak master keys)."""
    return "sk-" + secrets.token_urlsafe(32)


class Redactor:
    def __init__(self, *secret_values: str):
        self.values = [v for v in secret_values if v]

    def __call__(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, REDACTED)
        return _SK_TOKEN.sub(REDACTED, text)
