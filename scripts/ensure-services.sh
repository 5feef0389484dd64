#!/usr/bin/env bash
# Starts the local services the integration tests talk to, when they are not already listening.
# Commands follow this machine kind's own service set-up (Debian packages, 127.0.0.1 only).
set -uo pipefail

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local name=$1 port=$2
  for _ in $(seq 1 60); do
    listening "$port" && { echo "service: $name is up on :$port"; return 0; }
    sleep 0.5
  done
  echo "service: $name did not come up on :$port" >&2
  return 1
}

ensure() {
  local name=$1 port=$2; shift 2
  if listening "$port"; then echo "service: $name already up on :$port"; return 0; fi
  echo "service: starting $name"
  "$@" >/dev/null 2>&1 || true
  wait_for "$name" "$port"
}

ensure postgresql 5432 bash -c 'pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start'
ensure mariadb 3306 start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
ensure redis 6379 redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
ensure rabbitmq 5672 rabbitmq-server -detached
ensure mosquitto 1883 mosquitto -d -c /etc/mosquitto/mosquitto.conf
ensure nats 4222 start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
