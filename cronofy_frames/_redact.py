"""Masking of secrets: the one place that decides how a secret may be shown."""

from __future__ import annotations

import hashlib


def mask(secret: str | None) -> str:
    """``'…wxyz'`` (the last four characters) for a long secret, ``'…'`` for a short one."""
    if not secret:
        return "<none>"
    return "…" + secret[-4:] if len(secret) >= 16 else "…"


def fingerprint(secret: str) -> str:
    """A stable, non-reversible label for an unlabelled token: ``tok_`` + 10 hex digits."""
    return "tok_" + hashlib.sha256(secret.encode()).hexdigest()[:10]


def pair_fingerprint(access_token: str, refresh_token: str | None) -> str:
    """A stable, non-reversible fingerprint of one (access, refresh) pair: 20 hex digits."""
    text = f"cronofy_frames pair\0{access_token}\0{refresh_token or ''}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]
