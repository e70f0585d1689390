"""Load, validate, normalise and cut CRM exports; generate synthetic ones."""

from core.data.asof import cut_at, parse_as_of
from core.data.crm import CRMData
from core.data.loader import load_crm, read_crm
from core.data.mapping import ColumnMapping, load_mapping, mapping_for
from core.data.quality import DataQualityReport, QualityItem

__all__ = [
    "CRMData",
    "ColumnMapping",
    "DataQualityReport",
    "QualityItem",
    "cut_at",
    "load_crm",
    "load_mapping",
    "mapping_for",
    "parse_as_of",
    "read_crm",
]
