"""Settings of the core, read from the environment with the ``LINEPATROL_`` prefix.

The service's settings extend these; nothing reads the environment anywhere else.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class CoreSettings(BaseSettings):
    """What the detection core needs to know about this machine and the user's choices."""

    model_config = SettingsConfigDict(env_prefix="LINEPATROL_", extra="ignore")

    model: str | None = Field(
        default=None,
        description="ONNX model file, or the name of a bundled model; default: the bundled default",
    )
    providers: Annotated[list[str] | None, NoDecode] = Field(
        default=None,
        description="ONNX Runtime execution providers in order of preference, e.g. 'cuda,cpu'; "
        "default: TensorRT, CUDA, CPU, whichever this machine has",
    )
    intra_op_threads: int = Field(default=0, ge=0, description="CPU threads per op, 0 = all cores")
    cache_dir: str | None = Field(default=None, description="TensorRT engine cache directory")

    @field_validator("providers", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            return parts or None
        return value
