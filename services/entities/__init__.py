"""The entity library (seed 004): images, videos and collections with a history of changes."""

from services.entities.access import EntityAccess, Need, ReadAuthSwitch
from services.entities.changes import EntityFields, SubmittedForm
from services.entities.listing import FILTER_SYNTAX, InvalidFilter, ListQuery, parse_filter
from services.entities.service import EntityFile, EntityService

__all__ = [
    "FILTER_SYNTAX",
    "EntityAccess",
    "EntityFields",
    "EntityFile",
    "EntityService",
    "InvalidFilter",
    "ListQuery",
    "Need",
    "ReadAuthSwitch",
    "SubmittedForm",
    "parse_filter",
]
