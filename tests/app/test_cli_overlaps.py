"""`frontdoor annotate` keeps a tier free of overlaps: it refuses in one line naming the annotation in the way,
or fits the new one in with ``--trim``; an imported file with overlaps is kept and said to have them."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli.main import main


def _last(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_annotate_add_refuses_an_overlap_or_trims(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path}/s.sqlite"
    assert main(["--db", db, "new-document", "--name", "coding"]) == 0
    doc = _last(capsys)
    assert main(["--db", db, "annotate", "add", doc, "Call phase", "11s", "20s", "information gathering"]) == 0
    gathering = _last(capsys)
    assert main(["--db", db, "annotate", "add", doc, "Call phase", "12s", "13s", "consultation"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"frontdoor: error: tier 'Call phase': 0:12.000–0:13.000 overlaps {gathering} 'information gathering' "
        "(0:11.000–0:20.000); annotations on one tier cannot overlap"
    )
    assert main(["--db", db, "annotate", "add", doc, "Call phase", "12s", "13s", "consultation", "--trim"]) == 0
    out = capsys.readouterr().out
    assert f"ended {gathering} at 00:00:12.000, where the new annotation starts" in out
    assert main(["--db", db, "show", doc, "--annotations"]) == 0
    shown = capsys.readouterr().out
    assert "00:00:11.000  00:00:12.000  information gathering" in shown
    assert "00:00:12.000  00:00:13.000  consultation" in shown
    assert main(["--db", db, "annotate", "move", doc, gathering, "11s", "12.5s"]) == 2
    assert "annotations on one tier cannot overlap" in capsys.readouterr().err
