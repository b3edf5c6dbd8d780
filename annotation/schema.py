"""The whole schema of the annotation package: importing this module registers every table on ``Base``.

Each table module registers its tables on the one declarative ``Base`` (:mod:`annotation.store.tables`)
when it is imported. Code that needs the full schema — Alembic's environment, a test comparing the
migrations with the models — imports this module rather than relying on one table module importing the
others (which made the store import the records and identifiers above it). It sits at the top of
``annotation`` so that it may import every layer's tables. The consent package's tables are registered by
``consent.models``, which ``annotation`` does not know.
"""

from __future__ import annotations

from annotation.faces import models as face_models
from annotation.identifiers import models as identifier_models
from annotation.records import models as record_models
from annotation.store import Base, tables

metadata = Base.metadata

__all__ = ["Base", "face_models", "identifier_models", "metadata", "record_models", "tables"]
