"""Checking and storing uploaded documents: PDF by content, size-capped, kept outside any public
URL under a random name."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from portal.exceptions import InvalidInput

MAX_BYTES = 10 * 1024 * 1024
_TAIL = 2048


def documents_dir() -> Path:
    path = Path(settings.PRIVATE_MEDIA_ROOT) / "documents"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_document", extra={"fields": {"file": message}})


def check_pdf(upload: UploadedFile) -> None:
    """A PDF at most 10 MB, judged by its bytes (header and end-of-file marker), not its name."""
    if upload.size is None or upload.size == 0:
        raise _invalid("The file is empty.")
    if upload.size > MAX_BYTES:
        raise _invalid(f"The file is {upload.size / 1_048_576:.1f} MB; the limit is 10 MB.")
    upload.seek(0)
    head = upload.read(1024)
    upload.seek(max(0, upload.size - _TAIL))
    tail = upload.read(_TAIL)
    upload.seek(0)
    if not head.startswith(b"%PDF-") or b"%%EOF" not in tail:
        raise _invalid("The file is not a PDF document. Please upload the approval as a PDF.")


def store(upload: UploadedFile) -> tuple[str, str]:
    """Write the upload under a random name; returns (storage name, SHA-256)."""
    name = f"{secrets.token_hex(20)}.pdf"
    digest = hashlib.sha256()
    target = documents_dir() / name
    with target.open("xb") as out:
        for chunk in upload.chunks():
            digest.update(chunk)
            out.write(chunk)
    target.chmod(0o600)
    return name, digest.hexdigest()


def path_of(storage_name: str) -> Path:
    return documents_dir() / storage_name


def discard(storage_name: str) -> None:
    path_of(storage_name).unlink(missing_ok=True)
