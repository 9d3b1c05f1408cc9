#!/bin/sh
# Script form: a new Python process per file, so the detector is loaded every time.
exec python3 -m blur "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR"
