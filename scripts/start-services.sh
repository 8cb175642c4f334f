#!/usr/bin/env bash
# Starts the local services the tests talk to, when they are not already listening:
# PostgreSQL (127.0.0.1:5432, the MDMS PostgreSQL backend), NATS with JetStream
# (127.0.0.1:4222, the HES -> MDMS bus) and Mosquitto (127.0.0.1:1883, DCU push
# forwarding). Idempotent; exits non-zero when a service cannot be started.
#
# The start commands are those of the Debian packages installed on the CI machines.
set -euo pipefail

log() { printf 'start-services: %s\n' "$*" >&2; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local port="$1" name="$2"
  for _ in $(seq 1 60); do
    if listening "$port"; then log "$name is up on 127.0.0.1:$port"; return 0; fi
    sleep 0.5
  done
  log "error: $name did not come up on 127.0.0.1:$port"
  return 1
}

if ! listening 5432; then
  log "starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  else
    log "error: PostgreSQL is not running and pg_ctlcluster is missing (apt-get install postgresql)"
    exit 1
  fi
fi
wait_for 5432 PostgreSQL

if ! listening 4222; then
  log "starting NATS (JetStream)"
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
fi
wait_for 4222 NATS

if ! listening 1883; then
  log "starting Mosquitto"
  mosquitto -d -c /etc/mosquitto/mosquitto.conf
fi
wait_for 1883 Mosquitto
