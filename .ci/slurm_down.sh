#!/usr/bin/env bash
# Stops what .ci/slurm_up.sh started (slurmd, slurmctld, munged) and removes its slurm.conf and
# state directory. Safe to run when nothing is running.
set -uo pipefail

STATE="${KILN_SLURM_STATE:-/tmp/kiln-slurm}"
CONF=/etc/slurm/slurm.conf

stop_pidfile() {
  local file="$1"
  [ -s "$file" ] || return 0
  local pid
  pid="$(cat "$file")"
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

stop_pidfile "$STATE/slurmd.pid"
stop_pidfile "$STATE/slurmctld.pid"
stop_pidfile /run/munge/munged.pid
if [ -e "$CONF" ] && grep -qF "# written by kiln .ci/slurm_up.sh" "$CONF"; then rm -f "$CONF"; fi
rm -rf "$STATE"
echo "slurm_down: stopped"
