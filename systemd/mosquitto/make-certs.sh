#!/bin/sh
# Make a small private CA and a server certificate for mosquitto's TLS listener (8883).
#
#   make-certs.sh [--dir DIR] [--days N] [NAME ...]
#
# DIR defaults to /etc/mosquitto/mood-edge/certs. NAMEs are extra host names or IP addresses the
# broker is reached by; this host's name, NAME.local, localhost, 127.0.0.1 and the addresses it
# has now (hostname -I) are always included: run it again when the Pi gets a new address.
# An existing CA is kept (devices already trust it); the server certificate is remade.
# Copy DIR/ca.crt (never ca.key) to each device and set mqtt.ca_file to it.
set -eu

dir=/etc/mosquitto/mood-edge/certs
days=3650
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir=$2; shift 2 ;;
        --days) days=$2; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "make-certs.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) break ;;
    esac
done
command -v openssl >/dev/null || { echo "make-certs.sh: openssl is not installed (apt install openssl)" >&2; exit 1; }

host=$(hostname 2>/dev/null || echo localhost)
san="DNS:localhost,IP:127.0.0.1,DNS:$host,DNS:$host.local"
# this host's addresses (a Home Assistant that knows the Pi as 192.168.1.5 checks that name too)
# shellcheck disable=SC2046
set -- "$@" $(hostname -I 2>/dev/null || true)
for name in "$@"; do
    case ",$san," in *",IP:$name,"*|*",DNS:$name,"*) continue ;; esac
    case "$name" in
        *[!0-9.]*)
            case "$name" in
                # IPv6: hex digits and ':' only (a host name with ":port" is not an address)
                *:*:*) case "$name" in *[!0-9A-Fa-f:.]*) bad=yes ;; *) bad=no; san="$san,IP:$name" ;; esac ;;
                *:*) bad=yes ;;
                *[!A-Za-z0-9.*-]*|.*|*..*|-*|*-) bad=yes ;;
                *) bad=no; san="$san,DNS:$name" ;;
            esac
            if [ "$bad" = yes ]; then
                echo "make-certs.sh: '$name' is not a host name or IP address (no ports or URLs: just broker.lan or 192.168.1.5)" >&2
                exit 2
            fi ;;
        *) san="$san,IP:$name" ;;
    esac
done
case "$days" in ''|*[!0-9]*) echo "make-certs.sh: --days must be a number of days, got '$days'" >&2; exit 2 ;; esac

umask 077
mkdir -p "$dir"
# mosquitto reads the certificate and key after dropping to its own user: the folder and the
# server key are group mosquitto; the CA key stays root-only.
chmod 0750 "$dir"
if getent group mosquitto >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    chgrp mosquitto "$dir"
fi
# Everything is made in a scratch folder next to the certificates and moved into place only when
# all of it succeeded: a failure leaves the old key and certificate as they were (matching).
work=$(mktemp -d "$dir/.make-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT
# ssl CMD...: openssl, its messages shown (with what we were doing) only when it fails
ssl() {
    if ! out=$(openssl "$@" 2>&1); then
        echo "make-certs.sh: openssl $1 failed; the files in $dir were not changed:" >&2
        printf '%s\n' "$out" >&2
        exit 1
    fi
}
if [ ! -s "$dir/ca.key" ] || [ ! -s "$dir/ca.crt" ]; then
    ssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
        -days "$days" -subj "/CN=mood-edge broker CA ($host)" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$work/ca.key" -out "$work/ca.crt"
    ca_key=$work/ca.key ca_crt=$work/ca.crt new_ca=yes
else
    ca_key=$dir/ca.key ca_crt=$dir/ca.crt new_ca=no
fi
ssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
    -subj "/CN=$host" -keyout "$work/server.key" -out "$work/server.csr"
printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
    "$san" > "$work/ext"
ssl x509 -req -in "$work/server.csr" -CA "$ca_crt" -CAkey "$ca_key" -CAserial "$work/ca.srl" -CAcreateserial \
    -days "$days" -sha256 -extfile "$work/ext" -out "$work/server.crt"
chmod 0644 "$work/server.crt"
chmod 0640 "$work/server.key"
if getent group mosquitto >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    chgrp mosquitto "$work/server.key"
fi
# rename() within one folder is atomic; the key goes first, the certificate right after it
if [ "$new_ca" = yes ]; then
    chmod 0644 "$work/ca.crt"
    mv -f "$work/ca.key" "$dir/ca.key"
    mv -f "$work/ca.crt" "$dir/ca.crt"
    echo "made CA $dir/ca.crt"
fi
mv -f "$work/server.key" "$dir/server.key"
mv -f "$work/server.crt" "$dir/server.crt"
echo "made server certificate $dir/server.crt for $san"
