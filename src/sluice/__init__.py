"""Sluice: event-driven serverless file processing and AI inference, wire-compatible with OSCAR."""

__version__ = "0.1.0"

# The OSCAR release whose REST API Sluice implements; /system/info reports it as the version so
# that OSCAR clients (the dashboard compares versions) enable that release's features.
OSCAR_API_VERSION = "v4.1.2"
