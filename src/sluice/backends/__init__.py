"""Execution backends: where and how a job's process runs."""
