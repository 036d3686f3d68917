"""The interface's own settings (``LINEPATROL_UI_`` environment variables)."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class UISettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LINEPATROL_UI_", extra="ignore")

    tile_url: str = Field(
        default="",
        description="Optional raster tile URL template for the maps, e.g. "
        "http://tiles.local/{z}/{x}/{y}.png; empty: no tiles, the ledger's lines and towers "
        "are drawn as vectors on a plain background (works offline)",
    )
    tile_attribution: str = Field(default="", description="Attribution shown for the tiles")
    tile_max_zoom: int = Field(default=19, ge=1, le=24)

    def map_config(self) -> dict[str, Any]:
        return {"tileUrl": self.tile_url, "tileAttribution": self.tile_attribution,
                "tileMaxZoom": self.tile_max_zoom}
