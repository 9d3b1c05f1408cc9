#!/bin/sh
# Upper-cases each input file, and keeps a copy and the event's object key beside it.
set -e
name=$(basename "$INPUT_FILE_PATH")
tr a-z A-Z < "$INPUT_FILE_PATH" > "$TMP_OUTPUT_DIR/$name$SUFFIX"
cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/$name.copy"
echo "$STORAGE_OBJECT_KEY" > "$TMP_OUTPUT_DIR/$name.key"
