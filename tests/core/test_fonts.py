"""Finding a CJK font through fontconfig (linepatrol.fonts), and doing without one."""

from __future__ import annotations

from pathlib import Path

from linepatrol import fonts

LISTING = (
    "/f/wqy-microhei.ttc\t1\tTrueType\tWenQuanYi Micro Hei Mono\t\n"
    "/f/NotoSansCJK-Regular.ttc\t2\tCFF\tNoto Sans CJK SC\t\n"
    "/f/wqy-microhei.ttc\t0\tTrueType\tWenQuanYi Micro Hei\t\n"
    "garbage line\n"
)


def test_listing_puts_proportional_faces_first_and_tells_truetype() -> None:
    parsed = fonts._parse(LISTING)
    assert [(f.path.name, f.index) for f in parsed] == [
        ("NotoSansCJK-Regular.ttc", 2), ("wqy-microhei.ttc", 0), ("wqy-microhei.ttc", 1)]
    assert [f.truetype for f in parsed] == [False, True, True]


def test_truetype_choice_skips_cff_faces(monkeypatch) -> None:
    parsed = tuple(fonts._parse(LISTING))
    monkeypatch.setattr(fonts, "cjk_fonts", lambda: parsed)
    assert fonts.cjk_font() == parsed[0]
    chosen = fonts.cjk_font(truetype=True)
    assert chosen is not None and chosen.path == Path("/f/wqy-microhei.ttc") and chosen.index == 0


def test_no_fontconfig_means_no_font(monkeypatch) -> None:
    monkeypatch.setattr(fonts.shutil, "which", lambda name: None)
    fonts.cjk_fonts.cache_clear()
    try:
        assert fonts.cjk_fonts() == () and fonts.cjk_font() is None
    finally:
        fonts.cjk_fonts.cache_clear()
