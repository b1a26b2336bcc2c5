#!/bin/sh
# Add or remove broker users for systemd/mosquitto/mood-edge.conf.
#
#   mood-edge-user.sh [--dir DIR] add device|display|service NAME [PASSWORD]
#   mood-edge-user.sh [--dir DIR] remove device|display|service NAME
#
# device   a mood sensor: NAME must be its mqtt.device_id; it may write only mood-edge/NAME/#
#          (and its own Home Assistant discovery). Goes to DIR/passwd (TLS listener 8883).
# service  a trusted reader such as "homeassistant" (give it a `user` block in DIR/acl). DIR/passwd.
# display  a browser display: read-only, websockets listener 9001 only. Goes to DIR/passwd-displays.
# Without PASSWORD a random one is made and printed once. DIR defaults to /etc/mosquitto/mood-edge.
# Then reload the broker: sudo systemctl reload mosquitto
set -eu

dir=/etc/mosquitto/mood-edge
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "mood-edge-user.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -ge 3 ] || { usage >&2; exit 2; }
action=$1 kind=$2 name=$3
password=${4:-}

case "$kind" in
    device|service) file="$dir/passwd" ;;
    display) file="$dir/passwd-displays" ;;
    *) echo "mood-edge-user.sh: kind must be device, display or service, got '$kind'" >&2; exit 2 ;;
esac
# A device name is a topic level: the same rule as mqtt.device_id. No '/', '+', '#' for anyone.
if ! printf '%s' "$name" | grep -Eq '^[A-Za-z0-9_-]{1,64}$'; then
    echo "mood-edge-user.sh: NAME '$name' must be 1-64 letters, digits, '-' or '_' (it becomes a topic level)" >&2
    exit 2
fi
command -v mosquitto_passwd >/dev/null || {
    echo "mood-edge-user.sh: mosquitto_passwd not found (apt install mosquitto)" >&2; exit 1; }

case "$action" in
    add)
        other="$dir/passwd-displays"; [ "$kind" = display ] && other="$dir/passwd"
        if [ -f "$other" ] && grep -q "^$name:" "$other"; then
            echo "mood-edge-user.sh: '$name' already exists in $other; a name is either a display or a device" >&2
            exit 2
        fi
        generated=no
        if [ -z "$password" ]; then
            password=$(openssl rand -base64 18 | tr -d '/+=' | cut -c1-20)
            generated=yes
        fi
        mkdir -p "$dir"
        umask 027
        [ -f "$file" ] || : > "$file"
        mosquitto_passwd -b "$file" "$name" "$password"
        chmod 0640 "$file"
        if getent group mosquitto >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then chgrp mosquitto "$file"; fi
        echo "added $kind '$name' to $file"
        [ "$generated" = yes ] && echo "password: $password"
        ;;
    remove)
        [ -f "$file" ] && mosquitto_passwd -D "$file" "$name"
        echo "removed $kind '$name' from $file"
        ;;
    *) echo "mood-edge-user.sh: action must be add or remove, got '$action'" >&2; exit 2 ;;
esac
echo "reload the broker to apply: sudo systemctl reload mosquitto"
