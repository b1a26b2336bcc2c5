#!/bin/bash
# Install mood-edge as a boot-time service on Raspberry Pi OS (Bookworm, Python 3.11).
#
#   sudo systemd/install.sh [--with-broker] [--no-start] [--no-picamera2]
#   sudo systemd/install.sh --bridge-to mqtts://house.lan:8883 --bridge-user NAME --bridge-ca CA.crt
#        < password-file                (this room's broker joined to the house broker; docs/house.md)
#   sudo systemd/install.sh --uninstall [--purge] [--with-broker]
#   systemd/install.sh --prefix /tmp/root --dry-run [...]     (lay files down under a staging root)
#
# What it does (safe to run again; it updates what it owns and keeps what you edited):
#   1. apt: python3-venv, python3-picamera2 (the Pi camera; libcamera comes with it) and, with
#      --with-broker, mosquitto + mosquitto-clients. python3-picamera2 is only in the Raspberry Pi
#      OS repository: where apt cannot get it (plain Debian, Ubuntu, an x86 box with a USB webcam)
#      it says so and installs for USB (v4l2) cameras, a new config then using camera.source =
#      "v4l2:0"; it stops instead if your config asks for "picamera2";
#   2. a venv in /opt/mood-edge/venv made with --system-site-packages, so the apt picamera2 is
#      visible, and `pip install` of this checkout (the edge runtime only: no TensorFlow), with
#      numpy held at the system's version because the apt picamera2/simplejpeg need it;
#   3. /etc/systemd/system/mood-edge.service, the command /usr/local/bin/mood-edge and, only if
#      there is none, /etc/mood-edge/config.toml (the current example is always refreshed as
#      /etc/mood-edge/config.example.toml);
#   4. with --with-broker: /etc/mosquitto/conf.d/mood-edge.conf, ACLs, password files with two
#      users (mood-edge-local for the daemon, mood-edge-watch for `mood-edge watch` on this Pi, its
#      login in /etc/mood-edge/watch-login for root and group mood-edge), TLS certificates under
#      /etc/mosquitto/mood-edge/certs for this host's name, name.local and addresses (existing
#      ones are kept unless the key and certificate do not match; it says when they no longer
#      name an address this host has), a drop-in that limits the daemon to loopback addresses, and the
#      TV page in /etc/mosquitto/mood-edge/web, served by mosquitto itself: http://<this host>:9001/
#      (its mqtt.js comes from displays/node_modules, --mqtt-js FILE or, once, the npm registry,
#      checked against displays/package-lock.json; no Node needed);
#   5. systemctl daemon-reload, enable and (re)start. Where systemd is not running (no
#      /run/systemd/system: a chroot, a container, an image build) it enables the service
#      offline, starts nothing and says so; it starts at the next boot.
#
# Options:
#   --with-broker     also install and configure mosquitto on this Pi (systemd/mosquitto/)
#   --no-start        enable the service but do not (re)start it now
#   --mqtt-js FILE    with --with-broker, on a host with no internet: mqtt.js from this
#                     mqtt-<version>.tgz (npm pack mqtt@<version> elsewhere) instead of the registry
#   --no-picamera2    do not install python3-picamera2 (USB/v4l2, file and folder cameras only)
#   --bridge-to URL   bridge this room's mosquitto to the house broker (implies --with-broker):
#                     mqtts://house.lan:8883; repeat for a cluster's nodes. Writes
#                     /etc/mosquitto/conf.d/mood-edge-bridge.conf (mood-edge bridge --help), 0640
#                     root:mosquitto as it holds the password, and restarts mosquitto
#   --bridge-user NAME  this room's user on the house broker (its device id: docs/house.md)
#   --bridge-ca FILE  the house broker's CA certificate, kept as /etc/mosquitto/mood-edge/house-ca.crt
#   --bridge-password-file FILE  the bridge password; without it, the first line of stdin
#                     (asked for, not echoed, on a terminal). Never on the command line
#   --uninstall       stop, disable and remove the service and the venv; keeps /etc/mood-edge
#   --purge           with --uninstall: also remove /etc/mood-edge and the state directory
#                     (and, with --with-broker, /etc/mosquitto/mood-edge)
#   --prefix DIR      install under DIR instead of / (also: DESTDIR=DIR); needs --dry-run
#   --dry-run         print the apt, venv/pip, chown and systemctl steps instead of running
#                     them; files are still laid down (under --prefix)
#   -h, --help        this text
set -euo pipefail

prog=install.sh
die() { echo "$prog: error: $*" >&2; exit 2; }
note() { echo "$prog: $*"; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

REPO=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${DESTDIR:-}
DRY_RUN=0 WITH_BROKER=0 UNINSTALL=0 PURGE=0 START=1
BRIDGE_TO=() BRIDGE_USER="" BRIDGE_CA="" BRIDGE_PASSWORD_FILE=""
PICAMERA2=1
SYSTEM_PYTHON=${SYSTEM_PYTHON:-/usr/bin/python3}
# What the tests point elsewhere: the apt-cache asked about python3-picamera2, and the directory
# that exists only while systemd runs as init (sd_booted(3)).
APT_CACHE=${APT_CACHE:-apt-cache}
SYSTEMD_DIR=${SYSTEMD_DIR:-/run/systemd/system}

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; ROOT=$2; shift 2 ;;
        --prefix=*) ROOT=${1#--prefix=}; shift ;;
        --dry-run) DRY_RUN=1; shift ;;
        --with-broker) WITH_BROKER=1; shift ;;
        --no-start) START=0; shift ;;
        --mqtt-js) [ $# -ge 2 ] || die "--mqtt-js needs a .tgz file"; MQTT_JS_TARBALL=$2; shift 2 ;;
        --no-picamera2) PICAMERA2=0; shift ;;
        --bridge-to) [ $# -ge 2 ] || die "--bridge-to needs a URL"; BRIDGE_TO+=("$2"); WITH_BROKER=1; shift 2 ;;
        --bridge-user) [ $# -ge 2 ] || die "--bridge-user needs a name"; BRIDGE_USER=$2; shift 2 ;;
        --bridge-ca) [ $# -ge 2 ] || die "--bridge-ca needs a file"; BRIDGE_CA=$2; shift 2 ;;
        --bridge-password-file) [ $# -ge 2 ] || die "--bridge-password-file needs a file"; BRIDGE_PASSWORD_FILE=$2; shift 2 ;;
        --uninstall) UNINSTALL=1; shift ;;
        --purge) PURGE=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done

ROOT=${ROOT%/}
if [ -n "$ROOT" ]; then
    [ "$DRY_RUN" = 1 ] || die "--prefix/DESTDIR $ROOT needs --dry-run: apt, pip and systemctl would act on this machine, not on $ROOT"
    mkdir -p "$ROOT"
    ROOT=$(cd "$ROOT" && pwd)
fi
[ "$PURGE" = 0 ] || [ "$UNINSTALL" = 1 ] || die "--purge only goes with --uninstall"
if [ ${#BRIDGE_TO[@]} -gt 0 ] && [ "$UNINSTALL" = 0 ]; then
    [ -n "$BRIDGE_USER" ] || die "--bridge-to needs --bridge-user NAME (this room's user on the house broker)"
    [ -z "$BRIDGE_CA" ] || [ -f "$BRIDGE_CA" ] || die "--bridge-ca $BRIDGE_CA: no such file"
    [ -z "$BRIDGE_PASSWORD_FILE" ] || [ -r "$BRIDGE_PASSWORD_FILE" ] || die "--bridge-password-file $BRIDGE_PASSWORD_FILE: cannot read it"
fi
if [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
    die "run it as root: sudo $0 $*"
fi

# The layout. ExecStart in systemd/mood-edge.service points at $VENV/bin/mood-edge.
APP=/opt/mood-edge
VENV=$APP/venv
UNIT=/etc/systemd/system/mood-edge.service
CONF_DIR=/etc/mood-edge
CONF=$CONF_DIR/config.toml
STATE_DIRS=(/var/lib/mood-edge /var/lib/private/mood-edge)
MOSQ_CONF=/etc/mosquitto/conf.d/mood-edge.conf
MOSQ_DIR=/etc/mosquitto/mood-edge
WEB_DIR=$MOSQ_DIR/web   # http_dir of the 9001 listener in mood-edge.conf
MQTT_JS_TARBALL=${MQTT_JS_TARBALL:-}
# with --with-broker the daemon talks to loopback only (IPAddressDeny=any, IPAddressAllow=localhost)
LOCAL_BROKER_DROPIN=/etc/systemd/system/mood-edge.service.d/local-broker.conf
# `mood-edge watch` on this Pi reads its broker login here (edge/mqtt/credentials.py WATCH_LOGIN)
WATCH_LOGIN=$CONF_DIR/watch-login
WATCH_USER=mood-edge-watch
WATCH_GROUP=mood-edge
COMMAND_LINK=/usr/local/bin/mood-edge
BRIDGE_CONF=/etc/mosquitto/conf.d/mood-edge-bridge.conf
HOUSE_CA=$MOSQ_DIR/house-ca.crt

# run CMD...: a step that acts on the system (apt, pip, systemctl, ownership): printed in dry-run.
run() {
    if [ "$DRY_RUN" = 1 ]; then
        printf '+'; printf ' %q' "$@"; printf '\n'
    else
        "$@"
    fi
}

# put SRC DEST MODE: install a file we own (always replaced).
put() {
    mkdir -p "$(dirname "$ROOT$2")"
    if [ -f "$ROOT$2" ] && cmp -s "$1" "$ROOT$2"; then
        note "unchanged $2"
    else
        install -m "$3" "$1" "$ROOT$2"
        note "installed $2"
    fi
}

# keep SRC DEST MODE [NAME]: install a file the user may edit, only if it is not there yet.
keep() {
    mkdir -p "$(dirname "$ROOT$2")"
    if [ -e "$ROOT$2" ]; then
        if cmp -s "$1" "$ROOT$2"; then note "unchanged $2"; else note "kept your $2 (new default: ${4:-$1})"; fi
    else
        install -m "$3" "$1" "$ROOT$2"
        note "installed $2"
    fi
}

check_platform() {
    [ "$DRY_RUN" = 0 ] || return 0
    if [ -r /etc/os-release ]; then
        # shellcheck disable=SC1091
        . /etc/os-release
        [ "${VERSION_CODENAME:-}" = bookworm ] || note "warning: made for Raspberry Pi OS Bookworm, this is ${PRETTY_NAME:-unknown}"
    fi
    case "$(uname -m)" in
        aarch64|x86_64) ;;
        *) die "$(uname -m) is not supported: LiteRT (ai-edge-litert) has wheels for 64-bit systems only; flash Raspberry Pi OS (64-bit) on a Pi 3, 4, 5 or Zero 2 W" ;;
    esac
    [ -x "$SYSTEM_PYTHON" ] || die "$SYSTEM_PYTHON not found (apt install python3)"
}

# picamera2_available: apt here can install python3-picamera2 (it has a candidate version).
picamera2_available() {
    local candidate
    candidate=$("$APT_CACHE" policy python3-picamera2 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }') || true
    [ -n "$candidate" ] && [ "$candidate" != "(none)" ]
}

# config_wants_picamera2 FILE: FILE sets [camera] source = "picamera2" (not commented out).
config_wants_picamera2() {
    [ -r "$1" ] && awk '
        /^[[:space:]]*\[/ { camera = ($0 ~ /^[[:space:]]*\[[[:space:]]*camera[[:space:]]*\]/); next }
        camera && /^[[:space:]]*source[[:space:]]*=[[:space:]]*["\047]picamera2["\047][[:space:]]*(#.*)?$/ { found = 1 }
        END { exit !found }' "$1"
}

# Whether python3-picamera2 goes in: without it the service still runs USB (v4l2), file and
# folder cameras, so its absence stops the install only when the config asks for the Pi camera.
plan_picamera2() {
    local without="installing without the Pi camera, for USB (v4l2) cameras"
    if [ "$PICAMERA2" = 0 ]; then
        note "--no-picamera2: $without"
    elif picamera2_available; then
        return 0
    elif config_wants_picamera2 "$ROOT$CONF"; then
        die "$CONF asks for the Pi camera (camera.source = \"picamera2\") but apt cannot install python3-picamera2 here (it is only in the Raspberry Pi OS repository): on a Pi use Raspberry Pi OS; for a USB camera set camera.source = \"v4l2:0\" in $CONF and run this again"
    else
        PICAMERA2=0
        note "python3-picamera2 is not in this system's apt sources (only in the Raspberry Pi OS repository): $without"
    fi
    if config_wants_picamera2 "$ROOT$CONF"; then
        note "warning: $CONF asks for camera.source = \"picamera2\", which is not installed: set \"v4l2:0\" for a USB camera"
    fi
}

install_packages() {
    local pkgs=(python3-venv python3-pip)
    run apt-get update
    plan_picamera2
    [ "$PICAMERA2" = 0 ] || pkgs+=(python3-picamera2)
    [ "$WITH_BROKER" = 0 ] || pkgs+=(mosquitto mosquitto-clients)
    # --no-install-recommends: picamera2 recommends a desktop preview stack a sensor never needs
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}"
}

# The apt picamera2 (and its simplejpeg) are built against Bookworm's numpy 1.24; a numpy 2 in the
# venv would shadow it and break `import picamera2`. Hold numpy at the system's version, and with
# numpy 1 keep OpenCV below 4.12 (4.12+ needs numpy 2).
write_constraints() {
    local version="" file="$ROOT$APP/constraints.txt"
    if [ -x "$SYSTEM_PYTHON" ]; then
        version=$("$SYSTEM_PYTHON" -c 'import numpy; print(numpy.__version__)' 2>/dev/null || true)
    fi
    mkdir -p "$ROOT$APP"
    {
        echo "# made by systemd/install.sh: keep the venv compatible with the apt python3-picamera2"
        if [ -n "$version" ]; then
            echo "numpy==$version"
            case "$version" in 1.*) echo "opencv-python-headless<4.12" ;; esac
        else
            echo "# no system numpy found: nothing to hold"
        fi
    } > "$file"
    note "wrote $APP/constraints.txt (system numpy: ${version:-none})"
}

make_venv() {
    local cfg="$ROOT$VENV/pyvenv.cfg"
    if [ -f "$cfg" ] && ! grep -Eq '^include-system-site-packages *= *true' "$cfg"; then
        note "$VENV cannot see the apt picamera2 (no --system-site-packages): making it again"
        run rm -rf "$ROOT$VENV"
    fi
    if [ ! -x "$ROOT$VENV/bin/python" ] || [ "$DRY_RUN" = 1 ]; then
        run "$SYSTEM_PYTHON" -m venv --system-site-packages "$ROOT$VENV"
    fi
    run "$ROOT$VENV/bin/pip" install --disable-pip-version-check --constraint "$ROOT$APP/constraints.txt" "$REPO"
}

install_files() {
    put "$REPO/systemd/mood-edge.service" "$UNIT" 0644
    mkdir -p "$ROOT$CONF_DIR"
    if [ "$PICAMERA2" = 1 ]; then
        keep "$REPO/config.example.toml" "$CONF" 0644
    else  # no Pi camera here: the default config asks for the first USB camera instead
        local usb
        usb=$(mktemp)
        sed 's/^source = "picamera2"$/source = "v4l2:0"/' "$REPO/config.example.toml" > "$usb"
        [ -e "$ROOT$CONF" ] || note "the new $CONF uses camera.source = \"v4l2:0\" (the first USB camera)"
        keep "$usb" "$CONF" 0644 "config.example.toml with camera.source = \"v4l2:0\""
        rm -f "$usb"
    fi
    put "$REPO/config.example.toml" "$CONF_DIR/config.example.toml" 0644
    # `mood-edge watch`, `check` and `bench` for everybody, from the service's venv
    mkdir -p "$(dirname "$ROOT$COMMAND_LINK")"
    if [ "$(readlink "$ROOT$COMMAND_LINK" 2>/dev/null)" != "$VENV/bin/mood-edge" ]; then
        ln -sfn "$VENV/bin/mood-edge" "$ROOT$COMMAND_LINK"
        note "installed $COMMAND_LINK -> $VENV/bin/mood-edge"
    fi
}

# cert_matches_key DIR: server.crt is the certificate of server.key (mosquitto refuses to start
# on "key values mismatch" otherwise; a half-made pair is remade instead of kept)
cert_matches_key() {
    local crt key
    crt=$(openssl x509 -noout -pubkey -in "$1/server.crt" 2>/dev/null) || return 1
    key=$(openssl pkey -pubout -in "$1/server.key" 2>/dev/null) || return 1
    [ -n "$crt" ] && [ "$crt" = "$key" ]
}

# local_broker_user: the daemon on this Pi logs in to its broker too (no listener takes anonymous
# clients: mood-edge.conf, "Client ids"). Its user mood-edge-local gets a random password, kept in
# $CONF_DIR/mqtt-password (0600) and handed to the service as a systemd credential (local-broker.conf).
LOCAL_BROKER_USER=mood-edge-local
local_broker_user() {
    local pwfile="$CONF_DIR/mqtt-password" pw
    if [ -s "$ROOT$pwfile" ] && grep -q "^$LOCAL_BROKER_USER:" "$ROOT$MOSQ_DIR/passwd" 2>/dev/null; then
        note "kept broker user $LOCAL_BROKER_USER (password in $pwfile)"
        return 0
    fi
    command -v mosquitto_passwd >/dev/null 2>&1 || {
        note "warning: mosquitto_passwd not found: broker user $LOCAL_BROKER_USER not made"; return 0; }
    pw=$(new_password)
    mkdir -p "$ROOT$CONF_DIR"
    (umask 077; printf '%s\n' "$pw" > "$ROOT$pwfile")
    chmod 0600 "$ROOT$pwfile"
    printf '%s\n' "$pw" | "$REPO/systemd/mosquitto/mood-edge-user.sh" --dir "$ROOT$MOSQ_DIR" --password-stdin \
        add service "$LOCAL_BROKER_USER" >/dev/null
    note "made broker user $LOCAL_BROKER_USER for the daemon on this Pi (password in $pwfile, 0600)"
}

# new_password: 24 random letters and digits
new_password() { openssl rand -base64 24 | tr -d '/+=' | cut -c1-24; }

# watch_user: `mood-edge watch -c /etc/mood-edge/config.toml` on this Pi logs in as mood-edge-watch
# (read-only, acl) with the login in $WATCH_LOGIN: root and group mood-edge may read it, so the
# password is never on a command line (sudo usermod -aG mood-edge $USER for a user's own shell).
watch_user() {
    if getent group "$WATCH_GROUP" >/dev/null 2>&1; then :; else run groupadd --system "$WATCH_GROUP"; fi
    if [ -s "$ROOT$WATCH_LOGIN" ] && grep -q "^$WATCH_USER:" "$ROOT$MOSQ_DIR/passwd" 2>/dev/null; then
        note "kept broker user $WATCH_USER (login in $WATCH_LOGIN)"
    elif command -v mosquitto_passwd >/dev/null 2>&1; then
        local pw
        pw=$(new_password)
        mkdir -p "$ROOT$CONF_DIR"
        (umask 027; printf '# made by install.sh --with-broker: the broker login of `mood-edge watch` on this Pi\n# (user %s, read-only). Root and group %s may read it.\nusername = "%s"\npassword = "%s"\n' \
            "$WATCH_USER" "$WATCH_GROUP" "$WATCH_USER" "$pw" > "$ROOT$WATCH_LOGIN")
        chmod 0640 "$ROOT$WATCH_LOGIN"
        printf '%s\n' "$pw" | "$REPO/systemd/mosquitto/mood-edge-user.sh" --dir "$ROOT$MOSQ_DIR" --password-stdin \
            add service "$WATCH_USER" >/dev/null
        note "made broker user $WATCH_USER for mood-edge watch on this Pi (login in $WATCH_LOGIN, 0640, group $WATCH_GROUP)"
    fi
    [ ! -e "$ROOT$WATCH_LOGIN" ] || run chgrp "$WATCH_GROUP" "$ROOT$WATCH_LOGIN"
}

# certs_name_this_host DIR: server.crt names every address this host has now (hostname -I), so
# Home Assistant or a device that knows the Pi by its address passes the TLS name check.
certs_name_this_host() {
    local san addr
    san=$(openssl x509 -noout -ext subjectAltName -in "$1/server.crt" 2>/dev/null | tr -d ' ' | tr ',' '\n' | tr 'a-f' 'A-F') || return 1
    for addr in $(hostname -I 2>/dev/null); do
        case "$addr" in *:*) continue ;; esac   # IPv6: openssl prints it expanded; not compared
        printf '%s\n' "$san" | grep -qx "IPAddress:$addr" || return 1
    done
}

install_broker() {
    local src="$REPO/systemd/mosquitto"
    keep "$src/mood-edge.conf" "$MOSQ_CONF" 0644
    keep "$src/acl" "$MOSQ_DIR/acl" 0644
    keep "$src/acl-displays" "$MOSQ_DIR/acl-displays" 0644
    for f in passwd passwd-displays; do
        if [ ! -e "$ROOT$MOSQ_DIR/$f" ]; then
            install -m 0640 /dev/null "$ROOT$MOSQ_DIR/$f"
            note "installed empty $MOSQ_DIR/$f (add users: $APP/bin/mood-edge-user.sh add ...)"
        fi
        run chgrp mosquitto "$ROOT$MOSQ_DIR/$f"
    done
    put "$src/mood-edge-user.sh" "$APP/bin/mood-edge-user.sh" 0755
    local_broker_user
    watch_user
    put "$src/make-certs.sh" "$APP/bin/make-certs.sh" 0755
    if [ -s "$ROOT$MOSQ_DIR/certs/server.crt" ] && [ -s "$ROOT$MOSQ_DIR/certs/server.key" ] \
        && cert_matches_key "$ROOT$MOSQ_DIR/certs"; then
        note "kept the TLS certificates in $MOSQ_DIR/certs"
        certs_name_this_host "$ROOT$MOSQ_DIR/certs" || note "warning: $MOSQ_DIR/certs/server.crt does not name all of this host's addresses ($(hostname -I 2>/dev/null)): a client that knows the broker by one fails TLS; name them (and any other name): sudo $APP/bin/make-certs.sh [NAME ...]"
    else
        "$src/make-certs.sh" --dir "$ROOT$MOSQ_DIR/certs"
    fi
    run chgrp -R mosquitto "$ROOT$MOSQ_DIR/certs"
    run chmod 0640 "$ROOT$MOSQ_DIR/certs/server.key"
    run chmod 0600 "$ROOT$MOSQ_DIR/certs/ca.key"
    install_web
    put "$REPO/systemd/mood-edge.service.d/local-broker.conf" "$LOCAL_BROKER_DROPIN" 0644
    [ ${#BRIDGE_TO[@]} = 0 ] || install_bridge
    sd_enable mosquitto
    sd_restart mosquitto
}

# install_bridge: the bridge block from `mood-edge bridge` (this checkout's, run by the system
# Python: it needs nothing but the standard library), the password piped to it, never in argv.
install_bridge() {
    local args=(bridge --config "$ROOT$CONF" --user "$BRIDGE_USER" --write "$ROOT$BRIDGE_CONF") url pw
    for url in "${BRIDGE_TO[@]}"; do args+=(--to "$url"); done
    if [ -n "$BRIDGE_CA" ]; then
        put "$BRIDGE_CA" "$HOUSE_CA" 0644
        args+=(--cafile "$HOUSE_CA")
    elif [ -f "$ROOT$HOUSE_CA" ]; then
        args+=(--cafile "$HOUSE_CA")
    fi
    if [ -n "$BRIDGE_PASSWORD_FILE" ]; then
        IFS= read -r pw < "$BRIDGE_PASSWORD_FILE" || [ -n "$pw" ] || die "--bridge-password-file $BRIDGE_PASSWORD_FILE is empty"
    else
        [ ! -t 0 ] || printf 'password of %s on the house broker: ' "$BRIDGE_USER" >&2
        if [ -t 0 ]; then IFS= read -rs pw || true; echo >&2; else IFS= read -r pw || true; fi
        [ -n "$pw" ] || die "no bridge password: give --bridge-password-file FILE or the password on stdin"
    fi
    # printf is a builtin: the password is in no process's argv
    printf '%s\n' "$pw" | PYTHONPATH="$REPO" "$SYSTEM_PYTHON" -m edge "${args[@]}" --password-stdin >/dev/null \
        || die "the bridge was not written (see above); mosquitto is unchanged"
    note "wrote $BRIDGE_CONF (0640 root:mosquitto: it holds the bridge password); the house broker's ACL for this room is printed above (docs/house.md)"
}

# systemd runs as init only where /run/systemd/system exists; elsewhere (a chroot, a container,
# an image build) units are enabled offline (their links made) and nothing is started.
systemd_running() { [ -d "$SYSTEMD_DIR" ]; }
sd_reload() { if systemd_running; then run systemctl daemon-reload; fi; }
sd_enable() {
    if systemd_running; then
        run systemctl enable "$@"
    elif [ "$DRY_RUN" = 0 ] && ! command -v systemctl >/dev/null 2>&1; then
        note "warning: systemctl not found: $* installed but not enabled"
    else
        run env SYSTEMD_OFFLINE=1 systemctl enable "$@"
    fi
}
sd_disable() {
    if systemd_running; then run systemctl disable --now "$@"
    elif [ "$DRY_RUN" = 1 ] || command -v systemctl >/dev/null 2>&1; then run env SYSTEMD_OFFLINE=1 systemctl disable "$@"
    fi
}
sd_restart() {
    if systemd_running; then run systemctl restart "$@"
    else note "systemd is not running here: $* not restarted (it starts at the next boot)"; fi
}

# The TV page, served by mosquitto's websockets listener (http_dir), with mqtt.js fetched once.
install_web() {
    local f fetch=(python3 "$REPO/displays/fetch_mqtt_js.py" --out "$ROOT$WEB_DIR/vendor")
    for f in "$REPO"/displays/web/*; do
        [ ! -f "$f" ] || put "$f" "$WEB_DIR/${f##*/}" 0644
    done
    [ -z "$MQTT_JS_TARBALL" ] || fetch+=(--tarball "$MQTT_JS_TARBALL")
    [ "$DRY_RUN" = 0 ] || fetch+=(--offline)   # a dry run never downloads
    if "${fetch[@]}"; then
        note "the TV page: http://$(hostname 2>/dev/null || echo '<this host>').local:9001/ (a display login: sudo $APP/bin/mood-edge-user.sh add display tv && sudo systemctl reload mosquitto)"
    else
        note "warning: the TV page in $WEB_DIR has no mqtt.js and will say so; re-run with --mqtt-js mqtt-<version>.tgz"
    fi
    if [ -f "$ROOT$MOSQ_CONF" ] && ! grep -Eq "^[[:space:]]*http_dir[[:space:]]+$WEB_DIR[[:space:]]*$" "$ROOT$MOSQ_CONF"; then
        note "warning: your $MOSQ_CONF does not serve the page: add 'http_dir $WEB_DIR' under 'listener 9001'"
    fi
}

do_install() {
    check_platform
    install_packages
    write_constraints
    make_venv
    install_files
    [ "$WITH_BROKER" = 0 ] || install_broker
    sd_reload
    sd_enable mood-edge.service
    if ! systemd_running; then
        note "systemd is not running here (no $SYSTEMD_DIR: a chroot, container or image build): enabled mood-edge.service without starting it; it starts at the next boot"
    elif [ "$START" = 1 ]; then
        run systemctl restart mood-edge.service \
            || die "mood-edge.service did not start: see journalctl -u mood-edge -n 50"
        if [ "$DRY_RUN" = 1 ]; then note "dry run: nothing was started"
        else note "started; follow it with: journalctl -u mood-edge -f"; fi
    else
        note "enabled; start it with: sudo systemctl start mood-edge"
    fi
    note "configure it in $CONF, then: sudo systemctl restart mood-edge"
    say_displays
}

# The closing lines: how each display connects (docs/displays.md says the same at length).
say_displays() {
    local host addr user="sudo $APP/bin/mood-edge-user.sh" reload="sudo systemctl reload mosquitto"
    host=$(hostname 2>/dev/null || echo pi).local
    addr=$(hostname -I 2>/dev/null | awk '{print $1}')
    if [ "$WITH_BROKER" = 0 ]; then
        note "displays: point them at the broker in $CONF's mqtt.broker (docs/displays.md)"
        return 0
    fi
    cat <<EOF
$prog: connect the displays (docs/displays.md):
  terminal on this Pi:  sudo mood-edge watch -c $CONF
                        (without sudo: sudo usermod -aG $WATCH_GROUP \$USER, then log in again)
  TV page:              $user add display tv && $reload
                        then open http://$host:9001/ and log in as tv with the password it printed
  Home Assistant:       $user add service homeassistant && $reload
                        MQTT integration: broker $host (or ${addr:-its address}), port 8883, user
                        homeassistant; advanced options: broker certificate $MOSQ_DIR/certs/ca.crt
  terminal elsewhere:   $user add service laptop && $reload, copy $MOSQ_DIR/certs/ca.crt there, then:
                        MOOD_EDGE_MQTT_PASSWORD=... mood-edge watch --broker mqtts://laptop@$host:8883 --ca-file ca.crt
  another name or address for the broker: sudo $APP/bin/make-certs.sh NAME ... && sudo systemctl restart mosquitto
EOF
}

do_uninstall() {
    if [ -e "$ROOT$UNIT" ]; then
        sd_disable mood-edge.service
        rm -f "$ROOT$UNIT"; note "removed $UNIT"
    fi
    if [ -e "$ROOT$LOCAL_BROKER_DROPIN" ]; then
        rm -f "$ROOT$LOCAL_BROKER_DROPIN"
        rmdir "$(dirname "$ROOT$LOCAL_BROKER_DROPIN")" 2>/dev/null || true
        note "removed $LOCAL_BROKER_DROPIN"
    fi
    sd_reload
    if [ "$(readlink "$ROOT$COMMAND_LINK" 2>/dev/null)" = "$VENV/bin/mood-edge" ]; then
        rm -f "$ROOT$COMMAND_LINK"; note "removed $COMMAND_LINK"
    fi
    if [ -e "$ROOT$APP" ]; then rm -rf "$ROOT$APP"; note "removed $APP"; fi
    if [ "$WITH_BROKER" = 1 ] && [ -e "$ROOT$MOSQ_CONF" ]; then
        rm -f "$ROOT$MOSQ_CONF" "$ROOT$BRIDGE_CONF"
        note "removed $MOSQ_CONF (and the bridge $BRIDGE_CONF, if any)"
        sd_restart mosquitto
    fi
    if [ "$PURGE" = 1 ]; then
        rm -rf "$ROOT$CONF_DIR"
        note "removed $CONF_DIR"
        for d in "${STATE_DIRS[@]}"; do rm -rf "$ROOT$d"; done
        note "removed the state directory /var/lib/mood-edge"
        if [ "$WITH_BROKER" = 1 ]; then rm -rf "$ROOT$MOSQ_DIR"; note "removed $MOSQ_DIR"; fi
    elif [ -e "$ROOT$CONF" ]; then
        note "kept $CONF (remove it with --uninstall --purge)"
    fi
    local pkgs=() p
    for p in python3-picamera2 $([ "$WITH_BROKER" = 0 ] || echo mosquitto); do
        # only those that are there (python3-picamera2 is not, where apt could not have it)
        if [ "$DRY_RUN" = 1 ] || dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
            pkgs+=("$p")
        fi
    done
    [ ${#pkgs[@]} = 0 ] || note "apt packages were left installed (${pkgs[*]}); remove them with apt if no longer needed"
}

if [ "$UNINSTALL" = 1 ]; then do_uninstall; else do_install; fi
