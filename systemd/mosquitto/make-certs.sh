#!/bin/sh
# Make a small private CA and a server certificate for mosquitto's TLS listener (8883).
#
#   make-certs.sh [--dir DIR] [--days N] [NAME ...]
#
# DIR defaults to /etc/mosquitto/mood-edge/certs. NAMEs are extra host names or IP addresses the
# broker is reached by; this host's name, NAME.local, localhost and 127.0.0.1 are always included.
# An existing CA is kept (devices already trust it); the server certificate is remade.
# Copy DIR/ca.crt (never ca.key) to each device and set mqtt.ca_file to it.
set -eu

dir=/etc/mosquitto/mood-edge/certs
days=3650
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir=$2; shift 2 ;;
        --days) days=$2; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "make-certs.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) break ;;
    esac
done
command -v openssl >/dev/null || { echo "make-certs.sh: openssl is not installed (apt install openssl)" >&2; exit 1; }

host=$(hostname 2>/dev/null || echo localhost)
san="DNS:localhost,IP:127.0.0.1,DNS:$host,DNS:$host.local"
for name in "$@"; do
    case "$name" in
        *[!0-9.]*) case "$name" in *:*) san="$san,IP:$name" ;; *) san="$san,DNS:$name" ;; esac ;;
        *) san="$san,IP:$name" ;;
    esac
done

umask 077
mkdir -p "$dir"
# mosquitto reads the certificate and key after dropping to its own user: the folder and the
# server key are group mosquitto; the CA key stays root-only.
chmod 0750 "$dir"
if getent group mosquitto >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    chgrp mosquitto "$dir"
fi
if [ ! -s "$dir/ca.key" ] || [ ! -s "$dir/ca.crt" ]; then
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
        -days "$days" -subj "/CN=mood-edge broker CA ($host)" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
    echo "made CA $dir/ca.crt"
fi
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
    -subj "/CN=$host" -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
ext=$(mktemp)
trap 'rm -f "$ext"' EXIT
printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
    "$san" > "$ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days "$days" -sha256 -extfile "$ext" -out "$dir/server.crt" 2>/dev/null
rm -f "$dir/server.csr"
chmod 0644 "$dir/ca.crt" "$dir/server.crt"
chmod 0640 "$dir/server.key"
if getent group mosquitto >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    chgrp mosquitto "$dir/server.key"
fi
echo "made server certificate $dir/server.crt for $san"
