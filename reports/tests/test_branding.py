"""The MSP's branding on reports: strict readers of its settings, and the logo inline."""

from __future__ import annotations

import pytest

from lib.env import ConfigError, env_colour, env_file
from reports.render import branding

SVG_LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    '<rect width="10" height="10"/></svg>'
)


def test_a_colour_must_be_written_as_six_hex_digits(monkeypatch):
    monkeypatch.setenv("HEEDED_MSP_COLOUR", "#7B2CBF")
    assert env_colour("HEEDED_MSP_COLOUR", "#000000") == "#7b2cbf"
    monkeypatch.setenv("HEEDED_MSP_COLOUR", "purple")
    with pytest.raises(ConfigError) as caught:
        env_colour("HEEDED_MSP_COLOUR", "#000000")
    assert str(caught.value) == (
        "HEEDED_MSP_COLOUR: expected a colour as #rrggbb (e.g. #1a5fb4), got 'purple'"
    )


def test_the_logo_must_be_an_existing_image_file(monkeypatch, tmp_path):
    monkeypatch.delenv("HEEDED_MSP_LOGO", raising=False)
    assert env_file("HEEDED_MSP_LOGO", suffixes=[".png", ".svg"]) is None
    monkeypatch.setenv("HEEDED_MSP_LOGO", str(tmp_path / "logo.gif"))
    with pytest.raises(ConfigError) as caught:
        env_file("HEEDED_MSP_LOGO", suffixes=[".png", ".svg"])
    assert (
        str(caught.value)
        == f"HEEDED_MSP_LOGO: expected a .png, .svg file, got '{tmp_path}/logo.gif'"
    )
    monkeypatch.setenv("HEEDED_MSP_LOGO", str(tmp_path / "missing.png"))
    with pytest.raises(ConfigError) as caught:
        env_file("HEEDED_MSP_LOGO", suffixes=[".png", ".svg"])
    assert str(caught.value) == f"HEEDED_MSP_LOGO: '{tmp_path}/missing.png' is not a readable file"


def test_the_logo_travels_inside_the_report_as_a_data_uri(settings, tmp_path):
    logo = tmp_path / "Rossi & Figli.svg"
    logo.write_text(SVG_LOGO, encoding="utf-8")
    settings.HEEDED_MSP_LOGO = logo
    settings.HEEDED_MSP_NAME = "Rossi & Figli IT"
    brand = branding()
    assert brand.name == "Rossi & Figli IT"
    assert brand.logo_data_uri.startswith("data:image/svg+xml;base64,PHN2Zy")
