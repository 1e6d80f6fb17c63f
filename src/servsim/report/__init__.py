"""Rendering: rich tables, scenario descriptions (figures and HTML come later)."""
