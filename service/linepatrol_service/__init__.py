"""The LinePatrol web service: flights, processing workers, defect review queue, reports."""

__version__ = "0.1.0"
