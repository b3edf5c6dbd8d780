"""Choices the parser offers, kept here so that building it loads no model package.

``frontdoor --help`` and every command's help must start at once: the parser is built from constants of
light modules, never from the registries of the packages that do the work (``annotation.elan`` loads lxml
and the codec). A test checks each copy against the registry it mirrors.
"""

from __future__ import annotations

#: the formats ``frontdoor export --format`` writes: ``annotation.elan.formats()``, sorted
EXPORT_FORMATS: tuple[str, ...] = ("csv", "json", "srt", "textgrid", "tsv", "vtt")
