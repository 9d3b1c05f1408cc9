"""One run of a service: stage in, run, stage out, answer. Imports nothing above it."""
