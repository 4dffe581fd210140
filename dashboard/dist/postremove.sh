#!/bin/sh
# The console's database, its key and its accounts stay: they are the
# office's record (remove /var/lib/roomguard-dashboard by hand, after a
# backup, if that is meant).
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
fi
