#!/bin/sh
set -e
if ! getent passwd roomguard >/dev/null; then
	adduser --system --group --home /var/lib/roomguard --no-create-home --gecos "roomguard" roomguard >/dev/null
fi
install -d -o roomguard -g roomguard -m 0750 /var/lib/roomguard-dashboard
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
	systemctl enable roomguard-dashboard.service >/dev/null || true
	echo "roomguard-dashboard: set its flags in /etc/default/roomguard-dashboard, then: systemctl start roomguard-dashboard (it prints the first admin's setup URL in its journal)"
fi
