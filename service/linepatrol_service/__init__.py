"""The LinePatrol web service: flights, processing workers, defect review queue, reports."""
