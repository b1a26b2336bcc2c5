#!/bin/sh
# Add or remove broker users for systemd/mosquitto/mood-edge.conf.
#
#   mood-edge-user.sh [--dir DIR] [--password-stdin] add device|display|service NAME
#   mood-edge-user.sh [--dir DIR] remove device|display|service NAME
#
# device   a mood sensor: NAME must be its mqtt.device_id; it may write only mood-edge/NAME/#
#          (and its own Home Assistant discovery). Goes to DIR/passwd (TLS listener 8883).
# service  a trusted reader: Home Assistant ("homeassistant"), a `mood-edge watch` on another
#          machine. It reads mood-edge/#. DIR/passwd (TLS listener 8883).
# display  a browser display: reads, and may publish only votes (mood-edge/+/feedback); websockets
#          listener 9001 only. Goes to DIR/passwd-displays.
# What each may read (and a display's one write) is a `user NAME` block appended to DIR/acl (DIR/acl-displays for a display),
# unless NAME has one already; remove takes out the block add made.
# --password-stdin reads the password from the first line of stdin (echo "$pw" | ...); without
# it a random one is made and printed once. A PASSWORD after NAME still works but is visible to
# every local user (ps, /proc/PID/cmdline). The password never goes on mosquitto_passwd's command
# line either. DIR defaults to /etc/mosquitto/mood-edge.
# Then reload the broker: sudo systemctl reload mosquitto
set -eu

dir=/etc/mosquitto/mood-edge
usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }
from_stdin=no
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir=$2; shift 2 ;;
        --password-stdin) from_stdin=yes; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "mood-edge-user.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -ge 3 ] || { usage >&2; exit 2; }
action=$1 kind=$2 name=$3
password=${4:-}

case "$kind" in
    device) file="$dir/passwd" acl="$dir/acl" reads="homeassistant/status" ;;
    service) file="$dir/passwd" acl="$dir/acl" reads="mood-edge/#" ;;
    display) file="$dir/passwd-displays" acl="$dir/acl-displays" reads="mood-edge/# homeassistant/#"
             writes="mood-edge/+/feedback" ;;
    *) echo "mood-edge-user.sh: kind must be device, display or service, got '$kind'" >&2; exit 2 ;;
esac
# A device name is a topic level: the same rule as mqtt.device_id. No '/', '+', '#' for anyone.
# (A case pattern, not grep: grep matches line by line, so "evil<newline>homeassistant" passed.)
case "$name" in ''|*[!A-Za-z0-9_-]*) bad_name=yes ;; *) bad_name=no ;; esac
if [ "$bad_name" = yes ] || [ ${#name} -gt 64 ]; then
    echo "mood-edge-user.sh: NAME '$name' must be 1-64 letters, digits, '-' or '_' (it becomes a topic level)" >&2
    exit 2
fi
# The ACL block add appends for NAME, found again by its first line when NAME is removed.
marker="# mood-edge-user.sh: $kind $name"
acl_add() {
    [ -f "$acl" ] || return 0
    if grep -qx "user $name" "$acl"; then return 0; fi
    {
        printf '\n%s\nuser %s\n' "$marker" "$name"
        for topic in $reads; do printf 'topic read %s\n' "$topic"; done
        for topic in ${writes:-}; do printf 'topic write %s\n' "$topic"; done
    } >> "$acl"
    echo "gave $kind '$name' read access in $acl"
}
acl_remove() {
    [ -f "$acl" ] && grep -qx "$marker" "$acl" || return 0
    tmp=$(mktemp "$acl.XXXXXX")
    # the marker line, the blank line before it, and its block up to the next blank line
    awk -v m="$marker" '
        $0 == m { skip = 1; blank = 0; next }
        skip { if ($0 ~ /^[[:space:]]*$/) skip = 0; else next }
        /^[[:space:]]*$/ { if (blank) print ""; blank = 1; next }
        { if (blank) print ""; blank = 0; print }
        END { if (blank) print "" }' "$acl" > "$tmp"
    chmod --reference="$acl" "$tmp" 2>/dev/null || chmod 0644 "$tmp"
    chown --reference="$acl" "$tmp" 2>/dev/null || true
    mv -f "$tmp" "$acl"
}

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
        if [ -n "$password" ]; then
            echo "mood-edge-user.sh: warning: a password on the command line is visible to every local user; use --password-stdin" >&2
        elif [ "$from_stdin" = yes ]; then
            IFS= read -r password || [ -n "$password" ] || true
            [ -n "$password" ] || { echo "mood-edge-user.sh: --password-stdin: no password on stdin" >&2; exit 2; }
        fi
        if [ -z "$password" ]; then
            password=$(openssl rand -base64 18 | tr -d '/+=' | cut -c1-20)
            generated=yes
        fi
        mkdir -p "$dir"
        umask 027
        [ -f "$file" ] || : > "$file"
        # mosquitto_passwd reads the password twice from stdin when it is not a terminal; printf
        # is a shell builtin, so the password is in no process's argv
        printf '%s\n%s\n' "$password" "$password" | mosquitto_passwd "$file" "$name" >/dev/null
        chmod 0640 "$file"
        if getent group mosquitto >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then chgrp mosquitto "$file"; fi
        echo "added $kind '$name' to $file"
        acl_add
        [ "$generated" = yes ] && echo "password: $password"
        ;;
    remove)
        [ -f "$file" ] && mosquitto_passwd -D "$file" "$name"
        acl_remove
        echo "removed $kind '$name' from $file"
        ;;
    *) echo "mood-edge-user.sh: action must be add or remove, got '$action'" >&2; exit 2 ;;
esac
echo "reload the broker to apply: sudo systemctl reload mosquitto"
