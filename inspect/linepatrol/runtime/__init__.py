"""Model sessions over ONNX Runtime: provider choice, lazy loading, metadata."""

from linepatrol.runtime.model_info import ModelInfo, ModelLoadError
from linepatrol.runtime.providers import resolve_providers
from linepatrol.runtime.session import ModelSession, OrtSession

__all__ = ["ModelInfo", "ModelLoadError", "ModelSession", "OrtSession", "resolve_providers"]
