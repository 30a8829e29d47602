"""Runs record the SHA-256 of every DBC file their profile loaded (a profile's own hash covers only its TOML)."""

NAME = "dbc_hashes"

SQL = """
ALTER TABLE runs ADD COLUMN dbc_sha256 VARCHAR[];
"""
