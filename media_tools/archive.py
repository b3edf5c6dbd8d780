"""Encrypted archives for carrying exported clips: 7-Zip format, AES-256 with the headers encrypted too.

Any 7-Zip (Windows, ``7z``/``7za`` from p7zip on Linux, Keka or The Unarchiver on a Mac) opens them with the
passphrase; without it not even the file names can be listed. The clips are stored as they are (``copy``:
video does not compress further), so writing costs little more than the encryption. Key derivation is
7-Zip's own (SHA-256, 2^19 rounds, random salt and IV).

The archive is written under a temporary name in the target folder, read back whole with the passphrase
(every file decrypted and its CRC checked), synced, and only then renamed: a failed, cancelled or killed
write leaves no archive that looks complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from media_tools.errors import ArchiveFailed
from media_tools.files import replace_durably, sha256_file
from media_tools.scratch import remove_abandoned, scratch_name

SUFFIX = ".7z"


def write_encrypted_archive(target: Path, files: Sequence[tuple[Path, str]], passphrase: str) -> str:
    """Write ``files`` (each a path and its name inside the archive) into an encrypted 7z at ``target``;
    returns the archive's SHA-256.

    Raises:
        ArchiveFailed: the archive cannot be written or does not read back (nothing is left at ``target``).
    """
    import py7zr
    from py7zr.exceptions import ArchiveError

    if not passphrase:
        raise ArchiveFailed(f"{target}: an encrypted archive needs a passphrase")
    if target.exists():
        raise ArchiveFailed(f"{target}: exists already; nothing written")
    names = [name for _, name in files]
    if len(set(names)) != len(names):
        raise ArchiveFailed(f"{target}: two files would have the same name in the archive")
    remove_abandoned(target.parent, ".partial-")  # what an archive killed half-way left here
    tmp = target.with_name(scratch_name(".partial-", f"-{target.name}"))
    filters = [{"id": py7zr.FILTER_COPY}, {"id": py7zr.FILTER_CRYPTO_AES256_SHA256}]
    try:
        with py7zr.SevenZipFile(tmp, "w", password=passphrase, header_encryption=True, filters=filters) as z:
            for path, name in files:
                z.write(path, name)
        with py7zr.SevenZipFile(tmp, "r", password=passphrase) as z:
            if sorted(z.getnames()) != sorted(names):
                raise ArchiveFailed(f"{target}: the archive does not list what was written; nothing kept")
            bad = z.testzip()
            if bad is not None:
                raise ArchiveFailed(f"{target}: {bad} does not read back from the archive; nothing kept")
        digest = sha256_file(tmp)
        replace_durably(tmp, target)
    except ArchiveFailed:
        raise
    except (OSError, ArchiveError, ValueError, TypeError) as exc:  # py7zr reports some faults as TypeError
        raise ArchiveFailed(f"{target}: cannot write the archive ({getattr(exc, 'strerror', None) or exc})") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return digest


def archive_names(path: Path, passphrase: str) -> list[str]:
    """The names of the files in an encrypted archive (to check one).

    Raises:
        ArchiveFailed: it cannot be opened with ``passphrase``.
    """
    import py7zr

    try:
        with py7zr.SevenZipFile(path, "r", password=passphrase) as z:
            return sorted(z.getnames())
    except Exception as exc:  # a wrong passphrase decrypts to garbage, which py7zr's parser fails on in many ways
        raise ArchiveFailed(f"{path}: cannot open the archive (wrong passphrase, or damaged)") from exc
