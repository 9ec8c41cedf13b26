#!/usr/bin/env bash
# The library's text-parser fuzz target: scripts/fuzz-text.sh [SECONDS]. See scripts/fuzz.sh.
exec "$(dirname "$0")/fuzz.sh" text "$@"
