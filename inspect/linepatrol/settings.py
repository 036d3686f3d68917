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
        description="ONNX model file or bundled model name, or several joined by '+' to run "
        "together (each class from the first that detects it); default: the bundled default",
    )
    providers: Annotated[list[str] | None, NoDecode] = Field(
        default=None,
        description="ONNX Runtime execution providers in order of preference, e.g. 'cuda,cpu'; "
        "default: TensorRT, CUDA, CPU, whichever this machine has",
    )
    intra_op_threads: int = Field(default=0, ge=0, description="CPU threads per op, 0 = all cores")
    cache_dir: str | None = Field(default=None, description="TensorRT engine cache directory")
    ort_spinning: bool = Field(
        default=False,
        description="let ONNX Runtime's CPU threads spin-wait between ops: a little lower latency "
        "on a dedicated machine, much slower when the cores are shared (decode threads, a "
        "service, other jobs) — measured 0.65x -> 1.2x of ultralytics' throughput on 2 shared "
        "cores by turning it off",
    )
    precision: str = Field(
        default="auto",
        description="auto: the INT8 sibling of a bundled model when running on the CPU, else "
        "fp32; fp32 / int8 force one",
    )

    @field_validator("providers", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            return parts or None
        return value
