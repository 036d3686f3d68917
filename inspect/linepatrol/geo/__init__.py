"""Geotagging: camera pose from EXIF/XMP, pixel-to-ground projection, towers, spans, reports."""
