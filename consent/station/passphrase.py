"""The researcher's passphrase that locks a consent review station (one per project).

A review station hands the screen to one filmed member of staff; leaving it needs this passphrase, so the
participant cannot reach the main window (other people's clips and decisions). It is kept only as a slow
salted hash in ``consent_policy.passphrase_hash``, in a self-describing string::

    scrypt$<N>$<r>$<p>$<salt, base64>$<derived key, base64>

so a stored hash is checked with the parameters it was made with, and new ones can be made stronger later
without breaking the old. scrypt with N=2^16, r=8, p=1 takes about 0.15 s and 64 MiB here: cheap for one
person unlocking a station, expensive for someone trying millions of guesses on a copied database. The
16-byte salt is random per hash, so one passphrase set twice (or in two projects) hashes differently.

Setting or changing the passphrase is audited (who and when; never the passphrase or its hash). Changing
one that is set needs the current one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation.store import Project, Store
from consent import audit
from consent.errors import InvalidRequest, NoPassphrase, UnknownThing, WeakPassphrase, WrongPassphrase
from consent.models import ConsentPolicy
from consent.rows import write

N, R, P = 2**16, 8, 1
"""scrypt's cost (CPU and memory), block size and parallelism for new hashes."""
SALT_BYTES = 16
KEY_BYTES = 32
MIN_LENGTH = 8
MAX_LENGTH = 1024
# a stored hash asking for more than this is refused as unreadable: it could take minutes or gigabytes
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16


def hash_passphrase(passphrase: str, *, n: int = N, r: int = R, p: int = P) -> str:
    """A new salted scrypt hash of ``passphrase`` in the self-describing form.

    Raises:
        WeakPassphrase: shorter than ``MIN_LENGTH`` characters (or absurdly long).
    """
    text = _normalised(passphrase)
    if len(text) < MIN_LENGTH:
        raise WeakPassphrase(f"passphrase: shorter than {MIN_LENGTH} characters; choose a longer one")
    if len(text) > MAX_LENGTH:
        raise WeakPassphrase(f"passphrase: longer than {MAX_LENGTH} characters")
    salt = os.urandom(SALT_BYTES)
    key = _derive(text, salt, n, r, p, KEY_BYTES)
    return "$".join(["scrypt", str(n), str(r), str(p), _b64(salt), _b64(key)])


def check_hash(stored: str, passphrase: str) -> bool:
    """Whether ``passphrase`` is the one ``stored`` was made from (compared in constant time).

    Raises:
        InvalidRequest: ``stored`` is not a hash this module made (changed outside Frontdoor).
    """
    n, r, p, salt, key = _parse(stored)
    text = _normalised(passphrase)
    if not text or len(text) > MAX_LENGTH:
        return False
    return hmac.compare_digest(_derive(text, salt, n, r, p, len(key)), key)


def has_passphrase(store: Store, project: str) -> bool:
    """Whether the project's researcher has set a review-station passphrase.

    Raises:
        UnknownThing: no such project.
    """
    with store.session() as s:
        return _stored(s, project)[1] is not None


def require_passphrase(store: Store, project: str) -> None:
    """Refuse a review station in a project without a passphrase (it could not be left safely).

    Raises:
        UnknownThing: no such project.
        NoPassphrase: none is set; the message says how to set one.
    """
    if not has_passphrase(store, project):
        raise NoPassphrase(
            f"project {project!r}: no review-station passphrase is set; the researcher sets one with "
            f"'frontdoor consent passphrase set --project \"{project}\"'"
        )


def verify_passphrase(store: Store, project: str, passphrase: str) -> bool:
    """Whether ``passphrase`` is the project's review-station passphrase (False when none is set).

    Raises:
        UnknownThing: no such project.
        InvalidRequest: the stored hash is unreadable (changed outside Frontdoor).
    """
    with store.session() as s:
        stored = _stored(s, project)[1]
    return stored is not None and check_hash(stored, passphrase)


def set_passphrase(store: Store, project: str, passphrase: str, *, old: str | None = None) -> None:
    """Set the project's review-station passphrase, or change it (``old``: the current one).

    Raises:
        UnknownThing: no such project.
        WeakPassphrase: the new passphrase is shorter than ``MIN_LENGTH`` characters.
        WrongPassphrase: one is set and ``old`` is missing or not it; nothing is changed.
    """
    new = hash_passphrase(passphrase)  # the strength check first, before anything is read
    with store.session() as s:
        name, stored = _stored(s, project)
    if stored is not None:
        if old is None:
            raise WrongPassphrase(f"project {name!r}: a passphrase is set already; give the current one to change it")
        if not check_hash(stored, old):
            raise WrongPassphrase(f"project {name!r}: the current passphrase given is not right; nothing changed")

    def do(s: Session) -> None:
        pid = s.scalar(select(Project.id).where(Project.name == project))
        assert pid is not None
        pol = s.get(ConsentPolicy, pid)
        if pol is None:
            pol = ConsentPolicy(project_id=pid, keep_real_names=False)
            s.add(pol)
        if pol.passphrase_hash != stored:  # someone else changed it since we checked the old one
            raise WrongPassphrase(f"project {name!r}: the passphrase was changed meanwhile; nothing changed")
        pol.passphrase_hash = new
        s.flush()
        audit.append(s, "review_passphrase_set", {"project": pid, "replaced": stored is not None})

    write(store, do)


# ---------------------------------------------------------------------------------------------- helpers


def _stored(s: Session, project: str) -> tuple[str, str | None]:
    row = s.execute(
        select(Project.name, ConsentPolicy.passphrase_hash)
        .outerjoin(ConsentPolicy, ConsentPolicy.project_id == Project.id)
        .where(Project.name == project)
    ).first()
    if row is None:
        raise UnknownThing(f"project {project!r}: not found")
    return row[0], row[1]


def _normalised(passphrase: str) -> str:
    # the same passphrase typed on two keyboards (composed or decomposed accents) must match
    return unicodedata.normalize("NFC", passphrase)


def _derive(text: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        text.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * r * (n + p) + (1 << 20), dklen=length
    )


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes]:
    bad = InvalidRequest("the stored review-station passphrase hash is unreadable (changed outside Frontdoor)")
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or not all(x.isdigit() for x in parts[1:4]):
        raise bad
    n, r, p = (int(x) for x in parts[1:4])
    if n < 2 or n & (n - 1) or n > _MAX_N or not 1 <= r <= _MAX_R or not 1 <= p <= _MAX_P:
        raise bad
    try:
        salt, key = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    except (binascii.Error, ValueError):
        raise bad from None
    if len(salt) < 8 or len(key) < 16:
        raise bad
    return n, r, p, salt, key


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
