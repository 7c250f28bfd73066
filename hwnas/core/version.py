"""The package version, in the core so plug-ins can key caches on it without importing the top level."""

__version__ = "0.1.0"
