#!/usr/bin/env bash
# Inside Xvfb and a D-Bus session (see test.sh, e2e.sh): runs the command with a notification
# daemon beside it, so the console's OS notifications are real and can be read back.
set -uo pipefail
dunst >/dev/null 2>&1 &
dunst_pid=$!
"$@"
status=$?
kill "$dunst_pid" 2>/dev/null
exit $status
