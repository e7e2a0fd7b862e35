#!/usr/bin/env bash
# Inside Xvfb and a D-Bus session (see test.sh, e2e.sh): runs the command with a notification
# daemon beside it, so the console's OS notifications are real and can be read back, and with
# a Secret Service (gnome-keyring, its "login" collection unlocked and the `default` alias) for
# the console's reviewer key. The keyring's files live in a private directory, removed after.
set -uo pipefail
if ! command -v gnome-keyring-daemon >/dev/null; then
  echo "gnome-keyring-daemon is missing: run scripts/setup.sh" >&2
  exit 1
fi
keyring_home=$(mktemp -d)
# --unlock creates the login collection with this password and makes it the default; the
# daemon leaves with the D-Bus session.
if ! printf test | HOME="$keyring_home" XDG_DATA_HOME="$keyring_home/data" \
  gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null; then
  echo "gnome-keyring-daemon did not start" >&2
  exit 1
fi
dunst >/dev/null 2>&1 &
dunst_pid=$!
"$@"
status=$?
kill "$dunst_pid" 2>/dev/null
rm -rf "$keyring_home"
exit $status
