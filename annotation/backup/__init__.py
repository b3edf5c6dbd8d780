"""Backups of the store: the catalogue of a store's backups (names, folders, sidecars, the latest good one),
their checks, making them (SQLite's online backup API, or ``pg_dump`` for PostgreSQL), restoring and
re-keying them. It sits above the store, which it opens and copies."""

from __future__ import annotations

from annotation.backup.catalogue import (
    BackupInfo,
    backup_folder,
    latest_good_backup,
    list_backups,
    open_store_naming_backup,
    save_setting,
    user_settings,
)
from annotation.backup.checks import check_backup
from annotation.backup.rolling import backup_if_due, make_backup, rekey_backups, restore_backup

__all__ = [
    "BackupInfo",
    "backup_folder",
    "backup_if_due",
    "check_backup",
    "latest_good_backup",
    "list_backups",
    "make_backup",
    "open_store_naming_backup",
    "rekey_backups",
    "restore_backup",
    "save_setting",
    "user_settings",
]
