"""Packaging metadata: the licence the package declares is the file it ships."""

from __future__ import annotations

import tomllib

from conftest import ROOT


def test_the_declared_licence_is_the_mit_file_beside_it():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    # an SPDX expression and the file it names (PEP 639), not the deprecated {text = ...} table
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 the servsim developers" in text
    # setuptools reads the SPDX form from 77 on; an older one would reject the string
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]["requires"]
    assert "setuptools>=77" in requires
