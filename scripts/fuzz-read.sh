#!/usr/bin/env bash
# The reader's fuzz target (bytes -> ReadPage): scripts/fuzz-read.sh [SECONDS]. See scripts/fuzz.sh.
exec "$(dirname "$0")/fuzz.sh" read "$@"
