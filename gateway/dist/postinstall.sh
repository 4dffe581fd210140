#!/bin/sh
# roomguard-gateway: its own user, in the groups of the pins and serial ports.
set -e
if ! getent passwd roomguard >/dev/null; then
	adduser --system --group --home /var/lib/roomguard --no-create-home --gecos "roomguard" roomguard >/dev/null
fi
for g in gpio dialout; do
	if getent group "$g" >/dev/null; then
		adduser roomguard "$g" >/dev/null
	fi
done
install -d -o roomguard -g roomguard -m 0750 /var/lib/roomguard
chown root:roomguard /etc/roomguard /etc/roomguard/room.yaml
chmod 0750 /etc/roomguard
chmod 0640 /etc/roomguard/room.yaml
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
	udevadm control --reload-rules >/dev/null 2>&1 || true
	udevadm trigger --subsystem-match=tty >/dev/null 2>&1 || true
	systemctl enable roomguard-gateway.service >/dev/null || true
	echo "roomguard-gateway: edit /etc/roomguard/room.yaml, check it (roomguard-gateway check-config), then: systemctl start roomguard-gateway"
fi
