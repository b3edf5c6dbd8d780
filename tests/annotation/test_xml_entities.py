"""ELAN files that try to reach outside themselves through XML (entities declared in a DOCTYPE, external or
internal, "billion laughs", entities from an external DTD) or that are nested past libxml2's depth limit: each is
refused in one line naming the file, nothing is expanded or fetched, and the store is left as it was."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from annotation.elan import read_eaf
from annotation.errors import EafParseError
from annotation.store.engine import open_store, sqlite_url
from annotation.store.tables import AnnotationRow, Document
from app.cli.main import main

SECRET = "SECRET-b7c1e9-never-in-the-store"

EAF = """<?xml version="1.0" encoding="UTF-8"?>
{doctype}<ANNOTATION_DOCUMENT AUTHOR="" DATE="2024-01-01T00:00:00+00:00" FORMAT="3.0" VERSION="3.0">
    <HEADER MEDIA_FILE="" TIME_UNITS="milliseconds"/>
    <TIME_ORDER>
        <TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="0"/>
        <TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="1000"/>
    </TIME_ORDER>
    <TIER LINGUISTIC_TYPE_REF="default" TIER_ID="{tier}">
        <ANNOTATION>
            <ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts2">
                <ANNOTATION_VALUE>{value}</ANNOTATION_VALUE>
            </ALIGNABLE_ANNOTATION>
        </ANNOTATION>
    </TIER>
    <LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="default" TIME_ALIGNABLE="true"/>
</ANNOTATION_DOCUMENT>
"""
ECV = """<?xml version="1.0" encoding="UTF-8"?>
{doctype}<CV_RESOURCE AUTHOR="" DATE="2024-01-01T00:00:00+00:00" VERSION="0.2">
    <LANGUAGE LANG_DEF="http://cdb.iso.org/lg/CDB-00130975-001" LANG_ID="und" LANG_LABEL="undetermined (und)"/>
    <CONTROLLED_VOCABULARY CV_ID="kinds">
        <CV_ENTRY_ML CVE_ID="c1"><CVE_VALUE LANG_REF="und">{value}</CVE_VALUE></CV_ENTRY_ML>
    </CONTROLLED_VOCABULARY>
</CV_RESOURCE>
"""
LAUGHS = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
DECLARES = "declares XML entities, which ELAN files never use: refused"


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    return secret


def _write(path: Path, doctype: str, value: str, encoding: str = "utf-8", tier: str = "words") -> Path:
    text = (ECV if path.suffix == ".ecv" else EAF).format(doctype=doctype, value=value, tier=tier)
    if encoding != "utf-8":
        text = text.replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"')
    path.write_bytes(text.encode(encoding))
    return path


def _import(tmp_path: Path, path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str, str]:
    url = sqlite_url(tmp_path / "store.sqlite")
    code = main(["--db", url, "import-eaf", str(path)])
    out, err = capsys.readouterr()
    return code, out, err, url


def _nothing_stored(url: str) -> None:
    store = open_store(url)
    try:
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(Document)) == 0
            assert s.scalar(select(func.count()).select_from(AnnotationRow)) == 0
    finally:
        store.close()


def test_the_same_file_without_a_doctype_imports_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The control: the file the tests below change imports, its value kept to the last character."""
    path = _write(tmp_path / "plain.eaf", "", "START&amp;END")
    code, _, err, _ = _import(tmp_path, path, capsys)
    assert code == 0, err
    assert read_eaf(path).tiers[0].annotations[0].value == "START&END"


@pytest.mark.parametrize("suffix", [".eaf", ".etf", ".ecv"])
def test_an_external_entity_is_refused_and_never_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    secret = _secret(tmp_path)
    doctype = f'<!DOCTYPE ANNOTATION_DOCUMENT [<!ENTITY x SYSTEM "{secret.as_uri()}">]>\n'
    path = _write(tmp_path / f"leak{suffix}", doctype, "START&x;END")
    with pytest.raises(EafParseError) as refused:
        read_eaf(path)
    assert refused.value.message == f"{path}: {DECLARES}"
    if suffix == ".ecv":
        return  # a vocabulary is not imported on its own
    code, out, err, url = _import(tmp_path, path, capsys)
    assert (code, out, err) == (2, "", f"frontdoor: error: {path}: {DECLARES}\n")
    _nothing_stored(url)
    for f in tmp_path.rglob("*"):  # the store, its journal, anything written beside it
        if f.is_file() and f != secret:
            assert SECRET.encode() not in f.read_bytes(), f


def test_an_internal_entity_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "internal.eaf", '<!DOCTYPE ANNOTATION_DOCUMENT [<!ENTITY x "middle">]>\n', "START&x;END")
    code, out, err, url = _import(tmp_path, path, capsys)
    assert (code, out, err) == (2, "", f"frontdoor: error: {path}: {DECLARES}\n")
    _nothing_stored(url)


def test_an_entity_declared_and_never_used_is_refused_too(tmp_path: Path) -> None:
    path = _write(tmp_path / "unused.eaf", '<!DOCTYPE ANNOTATION_DOCUMENT [<!ENTITY % p "x">]>\n', "plain")
    with pytest.raises(EafParseError, match="declares XML entities"):
        read_eaf(path)


@pytest.mark.parametrize("where", ["text", "attribute", "declared only"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_billion_laughs_are_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, encoding: str
) -> None:
    value = "START&lol9;END" if where == "text" else "x"
    tier = "w&lol9;" if where == "attribute" else "words"
    path = _write(tmp_path / "laughs.eaf", f"<!DOCTYPE ANNOTATION_DOCUMENT [{LAUGHS}]>\n", value, encoding, tier)
    began = time.perf_counter()
    code, out, err, url = _import(tmp_path, path, capsys)
    assert time.perf_counter() - began < 5
    assert (code, out, err) == (2, "", f"frontdoor: error: {path}: {DECLARES}\n")
    _nothing_stored(url)


def test_an_entity_loop_is_refused(tmp_path: Path) -> None:
    doctype = '<!DOCTYPE ANNOTATION_DOCUMENT [<!ENTITY a "&b;"><!ENTITY b "&a;">]>\n'
    path = _write(tmp_path / "loop.eaf", doctype, "S&a;E")
    with pytest.raises(EafParseError) as refused:
        read_eaf(path)
    assert refused.value.message == f"{path}: {DECLARES}"


@pytest.mark.parametrize("where", ["text", "attribute"])
def test_an_entity_from_an_external_dtd_is_refused_and_the_dtd_never_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    """libxml2 leaves an entity it cannot find out of the text (or the attribute): never read as a loss."""
    secret = _secret(tmp_path)
    dtd = tmp_path / "elan.dtd"
    dtd.write_text(f'<!ENTITY x SYSTEM "{secret.as_uri()}">')
    doctype = f'<!DOCTYPE ANNOTATION_DOCUMENT SYSTEM "{dtd.as_uri()}">\n'
    value, tier = ("START&x;END", "words") if where == "text" else ("START", "w&x;")
    path = _write(tmp_path / "dtd.eaf", doctype, value, tier=tier)
    code, out, err, url = _import(tmp_path, path, capsys)
    message = f"{path}: uses the XML entity &x; from a DTD outside the file (never read): refused"
    assert (code, out, err) == (2, "", f"frontdoor: error: {message}\n")
    _nothing_stored(url)
    assert SECRET not in err


def test_nesting_too_deep_is_refused_in_frontdoors_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "deep.eaf"
    path.write_bytes(b"<ANNOTATION_DOCUMENT>" + b"<a>" * 300_000 + b"</a>" * 300_000 + b"</ANNOTATION_DOCUMENT>")
    with pytest.raises(EafParseError) as refused:
        read_eaf(path)
    message = refused.value.message
    assert message.startswith(f"{path}: elements nested more than 2048 levels deep (line 1, column "), message
    assert message.endswith("): not an ELAN file") and "XML_PARSE_HUGE" not in message, message
    code, out, err, url = _import(tmp_path, path, capsys)
    assert (code, out, err) == (2, "", f"frontdoor: error: {message}\n")
    _nothing_stored(url)
