#!/bin/sh
# Copies each input file to the output folder with a suffix, and counts its words.
set -e
name=$(basename "$INPUT_FILE_PATH")
cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/$name.out"
wc -w < "$INPUT_FILE_PATH" > "$TMP_OUTPUT_DIR/$name.words"
