"""The HTTP API: OSCAR's paths and formats, served by FastAPI."""
