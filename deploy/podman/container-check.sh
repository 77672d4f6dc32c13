#!/usr/bin/env bash
# make container-check: build every port's image from its Dockerfile with podman (no Docker engine
# needed) and run the conformance suite (all three layers) against each image, on a fresh PostgreSQL
# database (two suites at a time). Needs root, Debian's apt and a PostgreSQL reachable from the host network:
# TEST_DATABASE_URL is an admin URL (CREATE/DROP DATABASE), by default
# postgresql://postgres@127.0.0.1:5432/postgres. Without network access to Docker Hub,
# python:3.11-slim is stood in for by a debootstrapped Debian bookworm (same Python 3.11) imported
# under that name, built once.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
# Every port, found as the matrix finds them (impl-<name>/port.toml), so a new port is never skipped
# silently: one without a Dockerfile fails its build row.
DISCOVERED=$(for file in impl-*/port.toml; do dir=${file%/port.toml}; printf '%s ' "${dir#impl-}"; done)
PORTS=${CONTAINER_PORTS:-$DISCOVERED}
SECRET_KEY=container-check-secret-key
ADMIN_URL=${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
ADMIN_URL=${ADMIN_URL%%\?*}
MIRROR=${DEBIAN_MIRROR:-$(grep -rhoE '^(URIs:|deb) *http[^ ]*debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | grep -oE 'http[^ ]*' | head -1 || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
BASE=docker.io/library/python:3.11-slim
REPORTS=$ROOT/reports/containers
RUN=(podman run --runtime runc --network host)

now() { date +%s; }
T0=$(now)
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v debootstrap >/dev/null; then
    t=$(now); apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
    echo "apt install: $(( $(now) - t )) s"
fi
if ! grep -qs default_ulimits /etc/containers/containers.conf; then
    # Inside an unprivileged sandbox podman cannot raise rlimits or set up the pids cgroup.
    mkdir -p /etc/containers
    printf '[containers]\ndefault_ulimits = []\npids_limit = 0\n' >>/etc/containers/containers.conf
fi
if ! podman image exists "$BASE"; then
    t=$(now); rootfs=$(mktemp -d)
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates bookworm "$rootfs" "$MIRROR" >/dev/null
    rm -f "$rootfs/usr/lib/python3.11/EXTERNALLY-MANAGED"
    ln -sf python3 "$rootfs/usr/bin/python"
    # SSL_CERT_FILE: uv (and pip) in a build trust the host's CA bundle, mounted at build time.
    tar -C "$rootfs" -c . | podman import --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
        - "$BASE" >/dev/null
    rm -rf "$rootfs"
    echo "stand-in $BASE (debootstrap + import): $(( $(now) - t )) s"
fi

free_port() {  # a free TCP port in $1..$1+9 (each lane of the suites has its own ten)
    python3 - "$1" <<'PY'
import socket
import sys
base = int(sys.argv[1])
for port in range(base, base + 10):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        break
PY
}
psql_admin() { psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -qc "$1" >/dev/null; }

# Run one built image against the suite; write "health|suite|stop" to $REPORTS/$port.row.
check_image() {
    local port=$1 lane=$2 image=tasks-api-$1 name=container-check-$1 db=container_check_${1//-/_}
    local health suite stop http ready=0 t code
    psql_admin "DROP DATABASE IF EXISTS $db"
    psql_admin "CREATE DATABASE $db"
    http=$(free_port $((19100 + 10 * lane)))
    podman rm -f "$name" >/dev/null 2>&1 || true
    "${RUN[@]}" -d --name "$name" -e PORT="$http" -e SECRET_KEY="$SECRET_KEY" \
        -e DATABASE_URL="${ADMIN_URL%/*}/$db" \
        -e CORS_ALLOW_ORIGINS=https://allowed.example -e EVENTS_HEARTBEAT_SECONDS=2 \
        -e EVENTS_STREAM_SECONDS=8 -e EVENTS_POLL_SECONDS=1 "$image" >/dev/null 2>"$REPORTS/$port-run.log"
    # (Without systemd podman cannot schedule the HEALTHCHECK's timer and says so in that log; the
    # check below runs the image's HEALTHCHECK command itself once the port is ready.)
    for _ in $(seq 60); do
        if curl -fs -o /dev/null "http://127.0.0.1:$http/readyz"; then ready=1; break; fi
        sleep 1
    done
    # The Dockerfile's HEALTHCHECK command, run inside the container: what compose waits on.
    if [ $ready = 1 ] && podman healthcheck run "$name" >/dev/null 2>>"$REPORTS/$port-run.log"; then
        health=healthy
    else
        health=FAIL
    fi
    t=$(now)
    if [ $ready = 1 ] && (cd conformance && ../.tools/bin/uv run --frozen conformance run \
        --base-url "http://127.0.0.1:$http" --secret-key "$SECRET_KEY" --events-heartbeat-seconds 2 \
        --events-stream-seconds 8 --report-dir "$REPORTS/$port") >"$REPORTS/$port-suite.log" 2>&1; then
        suite="pass in $(( $(now) - t )) s"
    else
        suite="FAIL ($([ $ready = 1 ] && echo "$REPORTS/$port-suite.log" || echo 'never ready'))"
    fi
    podman stop -t 15 "$name" >/dev/null 2>>"$REPORTS/$port-run.log" || true
    code=$(podman inspect -f '{{.State.ExitCode}}' "$name")
    stop="exit $code"
    podman logs "$name" >"$REPORTS/$port-container.log" 2>&1 || true
    podman rm "$name" >/dev/null 2>>"$REPORTS/$port-run.log"
    psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)"
    echo "$health|$suite|$stop" >"$REPORTS/$port.row"
}

declare -A BUILD HEALTH SUITE STOP
failed=0
mkdir -p "$REPORTS"
# Builds one after another (each uses both cores), then the suites two at a time: a suite mostly
# waits on sockets, so two lanes finish in a little more than half the time of one.
BUILT=()
for port in $PORTS; do
    t=$(now)
    HEALTH[$port]=-; SUITE[$port]=-; STOP[$port]=-
    if [ ! -f "impl-$port/Dockerfile" ]; then
        BUILD[$port]="FAIL (no impl-$port/Dockerfile)"; failed=1; continue
    fi
    # --format docker keeps the Dockerfile's HEALTHCHECK (the OCI format has none).
    if podman build --format docker --runtime runc --network host --volume /etc/ssl/certs:/etc/ssl/certs:ro \
        -f "impl-$port/Dockerfile" -t "tasks-api-$port" . >"$REPORTS/$port-build.log" 2>&1; then
        BUILD[$port]="$(( $(now) - t )) s"; BUILT+=("$port")
    else
        BUILD[$port]="FAIL ($REPORTS/$port-build.log)"; failed=1
    fi
done
LANES=2
rm -f "$REPORTS"/*.row  # a row left by an earlier run must not stand in for this one
for lane in $(seq 0 $((LANES - 1))); do
    (for i in "${!BUILT[@]}"; do [ $((i % LANES)) = "$lane" ] && check_image "${BUILT[$i]}" "$lane"; done; true) &
done
wait
for port in "${BUILT[@]}"; do
    IFS='|' read -r HEALTH[$port] SUITE[$port] STOP[$port] <"$REPORTS/$port.row" || SUITE[$port]="FAIL (no result)"
    [ "${HEALTH[$port]}" = healthy ] || failed=1
    [ "${SUITE[$port]#pass}" != "${SUITE[$port]}" ] || failed=1
    [ "${STOP[$port]}" = "exit 0" ] || failed=1
done

printf '\n%-10s %-12s %-9s %-40s %s\n' port build health suite stop
for port in $PORTS; do
    printf '%-10s %-12s %-9s %-40s %s\n' "$port" "${BUILD[$port]}" "${HEALTH[$port]}" "${SUITE[$port]}" \
        "${STOP[$port]}"
done
echo "total: $(( $(now) - T0 )) s; logs in $REPORTS"
exit $failed
