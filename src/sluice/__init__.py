"""Sluice: event-driven serverless file processing and AI inference, wire-compatible with OSCAR."""

__version__ = "0.1.0"
