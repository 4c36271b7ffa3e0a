"""The daily chart reads in every theme, and in 16 colours: its bars contrast with what they sit on
(WCAG's 3:1 for graphics), and in the low-colour theme (what a 16-colour terminal gets) they still
do once each is brought to the nearest of the terminal's 16 colours."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rich.color import Color as RichColor
from rich.color import ColorSystem
from textual.color import Color

from core.bootstrap import Accueil
from tests.tui.test_reports import open_reports, report_clinic  # noqa: F401 - fixture
from themes import LOW_COLOUR_THEME, THEMES
from tui.app import AccueilApp
from tui.widgets.daily_chart import DailyChart

AppFactory = Callable[..., AccueilApp]


def _luminance(color: Color) -> float:
    def channel(value: int) -> float:
        value_ = value / 255
        return value_ / 12.92 if value_ <= 0.03928 else ((value_ + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.r) + 0.7152 * channel(color.g) + 0.0722 * channel(color.b)


def contrast(one: Color, other: Color) -> float:
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def in_16_colours(color: Color) -> Color:
    """The colour a 16-colour terminal shows for ``color`` (Rich picks the nearest of its 16)."""
    triplet = RichColor.from_rgb(color.r, color.g, color.b).downgrade(ColorSystem.STANDARD).get_truecolor()
    return Color(triplet.red, triplet.green, triplet.blue)


def test_contrast_and_palette_checks_can_fail() -> None:
    assert contrast(Color.parse("#000080"), Color.parse("#000000")) < 1.5  # ANSI blue on black
    assert contrast(Color.parse("#ffffff"), Color.parse("#000000")) == pytest.approx(21)
    assert in_16_colours(Color.parse("#7f8000")) == Color.parse("#808000")  # yellow
    assert contrast(in_16_colours(Color.parse("#00008a")), in_16_colours(Color.parse("#050505"))) < 1.5


@pytest.mark.parametrize("theme", [theme.name for theme in THEMES])
async def test_the_chart_contrasts_with_its_background(make_app: AppFactory, report_clinic: Accueil,  # noqa: F811
                                                       theme: str) -> None:
    app = make_app()
    app.theme = theme
    async with app.run_test(size=(80, 24)) as pilot:
        await open_reports(pilot)
        chart = app.screen.query_one(DailyChart)
        _base, background = chart.background_colors
        color = chart.styles.color
        bars = color if color.a == 1 else background.blend(color, color.a)  # translucent: what it covers shows
        assert contrast(bars, background) >= 3, (theme, bars.hex, background.hex)
        assert any(ch in "▁▂▃▄▅▆▇█" for line in chart.render().plain.splitlines() for ch in line)
        if theme == LOW_COLOUR_THEME:
            shown = in_16_colours(bars), in_16_colours(background)
            assert contrast(*shown) >= 3, (bars.hex, background.hex, shown[0].hex, shown[1].hex)
