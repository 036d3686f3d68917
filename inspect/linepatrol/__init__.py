"""LinePatrol core: detection on ONNX Runtime, geotagging and reports for UAV line inspection.

This package must stay light: numpy, OpenCV, ONNX Runtime and small pure-Python libraries.
It never imports torch or a web framework (the service and training packages do).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("linepatrol")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
