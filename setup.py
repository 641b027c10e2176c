"""Packaging detail pyproject.toml cannot say: resources/ ships as the data package controlroom._resources.

The catalogues, schema, themes, scenarios and sounds stay in the repository's top-level resources/
folder (everyone edits them there); in a wheel they become controlroom/_resources/ so that
controlroom.kernel.config finds them through importlib.resources. Everything else is in pyproject.toml.
"""
from setuptools import find_namespace_packages, setup

setup(
    packages=find_namespace_packages(include=["controlroom*", "ui*", "maps*"]) + ["controlroom._resources"],
    package_dir={"controlroom._resources": "resources"},
)
