"""Installed as the data package `controlroom._resources` (see setup.py); read via controlroom.kernel.config."""
