"""Encryption at rest of face templates and frames: AES-256-GCM with a key file.

The key is 32 random bytes in a file of its own (mode 600, created by
:func:`create_key_file`), never in the database: the ledger stores the key's id (the first 16
hex digits of its SHA-256) beside each encrypted value, so that a missing or wrong key is
reported as such.  Each value is bound to its row and column (the associated data), so an
encrypted template cannot be copied to another person's row and decrypt there.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from livecert.errors import ErrorCode, InputError

_MAGIC = b"LCE1"
_NONCE = 12
_KEY_BYTES = 32


@dataclass(frozen=True, repr=False)
class DataKey:
    """An AES-256 key and its id (the key itself never appears in ``repr``)."""

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) != _KEY_BYTES:
            raise InputError(f"a ledger key is {_KEY_BYTES} bytes, got {len(self.secret)}", code=ErrorCode.LEDGER_KEY)

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.secret).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"DataKey(key_id={self.key_id!r})"

    def encrypt(self, plaintext: bytes, context: str) -> bytes:
        """``LCE1`` + nonce + ciphertext and tag; ``context`` names the row and column."""
        nonce = secrets.token_bytes(_NONCE)
        return _MAGIC + nonce + AESGCM(self.secret).encrypt(nonce, plaintext, context.encode("utf-8"))

    def decrypt(self, blob: bytes, context: str) -> bytes:
        """The plaintext of :meth:`encrypt`'s output for the same ``context``.

        Raises
        ------
        InputError
            ``LEDGER_KEY``: another key, another row, or changed bytes.
        """
        if not blob.startswith(_MAGIC) or len(blob) < len(_MAGIC) + _NONCE + 16:
            raise InputError(f"{context}: not an encrypted ledger value", code=ErrorCode.LEDGER_KEY)
        nonce = blob[len(_MAGIC) : len(_MAGIC) + _NONCE]
        try:
            return AESGCM(self.secret).decrypt(nonce, blob[len(_MAGIC) + _NONCE :], context.encode("utf-8"))
        except InvalidTag:
            raise InputError(
                f"{context}: cannot decrypt with key {self.key_id} (another key, or the value was changed)",
                code=ErrorCode.LEDGER_KEY,
            ) from None


def create_key_file(path: str | Path) -> DataKey:
    """Write a new random key to ``path`` (mode 600); refuses to overwrite a file."""
    path = Path(path)
    secret = secrets.token_bytes(_KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(
            f"{path}: the key file exists already; keep it, or choose another path", code=ErrorCode.LEDGER_KEY
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot create the key file ({exc.strerror})", code=ErrorCode.CANNOT_WRITE) from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(secret.hex().encode("ascii") + b"\n")
    return DataKey(secret)


def read_key_file(path: str | Path) -> DataKey:
    """The key in a file written by :func:`create_key_file` (64 hex digits).

    Raises
    ------
    InputError
        ``FILE_NOT_FOUND``, or ``LEDGER_KEY`` for a file that holds no key.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise InputError(f"{path}: key file not found", code=ErrorCode.FILE_NOT_FOUND) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the key file ({exc})", code=ErrorCode.LEDGER_KEY) from None
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != _KEY_BYTES:
        raise InputError(
            f"{path}: not a ledger key file (expected {2 * _KEY_BYTES} hex digits)", code=ErrorCode.LEDGER_KEY
        )
    return DataKey(secret)
