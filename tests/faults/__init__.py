"""Faults across the packages, with real processes, real SIGKILL and real small file systems: a kill -9 during
an import, a batch of edits, a render and a backup; a full disk under the store, a render's output folder and
the backup folder; two writers on one document; fuzzed ELAN files, CSV extracts and edit specs."""
