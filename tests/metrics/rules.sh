#!/usr/bin/env bash
# The alerting and recording rules shipped in docs/prometheus: valid
# (promtool check rules) and doing what their unit tests say (promtool
# test rules).  Skips (77) without promtool, fails instead under
# ECHOD_TEST=require (CI).
# Usage: rules.sh SOURCE_DIR
set -euo pipefail
dir=${1:?source directory}/docs/prometheus
if ! command -v promtool >/dev/null; then
	if [ "${ECHOD_TEST:-}" = require ]; then
		echo "FAIL: ECHOD_TEST=require, but promtool is not installed" >&2
		exit 1
	fi
	echo "SKIPPED: promtool (Debian package prometheus) not installed"
	exit 77
fi
cd "$dir"
promtool check rules echod.rules.yml
promtool test rules echod.rules.test.yml
