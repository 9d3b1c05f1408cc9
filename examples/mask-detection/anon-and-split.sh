#!/bin/sh
# Edge: the uploaded video becomes anonymised frames in $TMP_OUTPUT_DIR/<video>/, which Sluice
# uploads to the cloud cluster's store (the service's output path names minio.cloud).
exec python3 -m anon_and_split "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR"
