"""The engine's access keys: random per data dir, readable by the user alone.

Fixed keys would let anything on the machine (another user, a web page, a
script) drive the engine by copying them from the source. Each data dir
instead gets its own AWS-shaped temporary credentials the first time an
engine or a client needs them, in a 0600 file inside the 0700 data dir.
Clients receive them exactly as they received the fixed ones before (the
environment ``launcher.client_env`` builds); the engine binds them to its
assumed-role identity and verifies every request's signature with them.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "credentials.json"
_KEY_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str

    def as_boto3(self) -> dict[str, str]:
        """Keyword arguments for ``boto3.Session`` / ``boto3.client``."""
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make it 0700: the engine's state is the user's alone."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def generate() -> Credentials:
    # ASIA...: the prefix of temporary (STS) keys, which is what the engine's assumed-role identity hands out
    return Credentials(
        access_key_id="ASIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16)),
        secret_access_key=secrets.token_urlsafe(30)[:40],
        session_token=secrets.token_urlsafe(96),
    )


def load_or_create(data_dir: Path) -> Credentials:
    """The data dir's credentials, made on first use; safe when two processes race to make them."""
    private_dir(data_dir)
    path = data_dir / FILE_NAME
    try:
        return read(path)
    except FileNotFoundError:
        pass
    fresh = generate()
    document = json.dumps(
        {"AccessKeyId": fresh.access_key_id, "SecretAccessKey": fresh.secret_access_key, "SessionToken": fresh.session_token}
    ).encode()
    tmp = data_dir / f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}.tmp"  # unique per call: threads race too
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, document)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process made it first: theirs wins, both read the same keys
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return read(path)


def read(path: Path) -> Credentials:
    document = json.loads(path.read_text())
    return Credentials(document["AccessKeyId"], document["SecretAccessKey"], document["SessionToken"])
