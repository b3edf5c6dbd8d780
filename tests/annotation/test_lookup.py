"""The common look-ups: a row by its key or NotFound, a project by its name (created when asked)."""

from __future__ import annotations

import pytest

from annotation.errors import NotFound
from annotation.store.engine import Store
from annotation.store.lookup import find_project, get_or_not_found, project_by_name
from annotation.store.tables import Project, Recording


def test_a_missing_row_is_not_found_in_one_line(store: Store) -> None:
    with store.session() as s, pytest.raises(NotFound, match=r"^recording 42: no such recording in the store$"):
        get_or_not_found(s, Recording, 42, "recording")
    with store.session() as s, pytest.raises(NotFound, match=r"^document 7: not found \(see"):
        get_or_not_found(s, Project, 7, "document", message="document 7: not found (see 'frontdoor documents')")


def test_a_project_by_name_is_found_created_or_not_found(store: Store) -> None:
    with store.session() as s, pytest.raises(NotFound, match=r"^project 'study': no such project$"):
        project_by_name(s, "study")
    with store.session() as s:
        assert find_project(s, "study") is None
        made = project_by_name(s, "study", create=True).id
    with store.session() as s:
        assert project_by_name(s, "study").id == made == get_or_not_found(s, Project, made, "project").id


def test_a_caller_keeps_its_own_error_class(store: Store) -> None:
    class Unknown(Exception):
        pass

    with store.session() as s, pytest.raises(Unknown, match=r"^project 'x': not found$"):
        project_by_name(s, "x", message="project 'x': not found", error=Unknown)
