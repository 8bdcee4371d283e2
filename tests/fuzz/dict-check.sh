#!/usr/bin/env bash
# Every key of the table in src/config.c is a word of config.dict, so the
# config fuzzer's dictionary cannot fall behind the schema.
# Usage: dict-check.sh SRC/config.c config.dict
set -euo pipefail
keys=$(grep -o 'CFG_[A-Z_]*("[a-z0-9_]*"' "$1" | sed 's/.*("\(.*\)"/\1/')
[ -n "$keys" ] || { echo "FAIL: no keys found in $1" >&2; exit 1; }
missing=0
for k in $keys; do
	grep -q "=\"$k\"\$" "$2" || { echo "FAIL: key $k not in $2" >&2; missing=1; }
done
[ "$missing" = 0 ] && echo "all $(echo "$keys" | wc -w) keys in $(basename "$2")"
exit "$missing"
