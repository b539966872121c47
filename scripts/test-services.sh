#!/usr/bin/env bash
# Runs before `npm test` (the pretest script): makes sure what the tests need is here, so that
# `npm ci && npm test` works on a fresh machine. Redis on 127.0.0.1:6379 for the queue tests (each test uses its
# own BullMQ prefix) and Debian's chromium for the dashboard tests (driven by playwright-core; nothing downloaded).
set -euo pipefail

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "test set-up: $* missing; install it with: sudo apt-get install -y $*" >&2
    exit 1
  fi
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }
if ! redis_up; then
  command -v redis-server >/dev/null || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 50); do redis_up && break; sleep 0.1; done
  redis_up || { echo "test set-up: redis-server did not start on 127.0.0.1:6379" >&2; exit 1; }
fi

[ -x /usr/bin/chromium ] || apt_install chromium
