#!/usr/bin/env bash
# Starts a one-node Slurm on this machine for tests/slurm/: munged, slurmctld and slurmd, all as
# root, with a slurm.conf whose only node is localhost (every CPU, no GPUs, no accounting).
# Needs Debian's slurm-wlm and munge. State and logs live in $KILN_SLURM_STATE (default
# /tmp/kiln-slurm); .ci/slurm_down.sh stops everything again. Refuses to replace a slurm.conf
# it did not write, so it never clobbers a real cluster's configuration.
set -euo pipefail

STATE="${KILN_SLURM_STATE:-/tmp/kiln-slurm}"
CONF=/etc/slurm/slurm.conf
MARKER="# written by kiln .ci/slurm_up.sh"

if [ -e "$CONF" ] && ! grep -qF "$MARKER" "$CONF"; then
  echo "slurm_up: $CONF exists and was not written by kiln; not touching it" >&2
  exit 1
fi
for tool in munged slurmctld slurmd sbatch; do
  command -v "$tool" >/dev/null || { echo "slurm_up: $tool not found (apt-get install slurm-wlm munge)" >&2; exit 1; }
done

mkdir -p "$STATE"/{ctld,spool,log} /etc/slurm /run/munge /var/log/munge /var/lib/munge
host="$(hostname -s)"
cpus="$(nproc)"
mem_mb="$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)"

cat >"$CONF" <<CONF
$MARKER
ClusterName=kiln
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
# No cgroups in a container: track processes by parent id, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# Jobs stay visible to squeue/scontrol for five minutes after they end.
MinJobAge=300
KillWait=30
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
chmod 0400 /etc/munge/munge.key
chmod 0755 /run/munge
if ! pgrep -x munged >/dev/null; then runuser -u munge -- /usr/sbin/munged; fi

/usr/sbin/slurmctld -i
/usr/sbin/slurmd
# Wait (bounded) until the node takes jobs.
for _ in $(seq 1 60); do
  if sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
    echo "slurm_up: one-node Slurm on $host ($cpus CPUs) is up"
    exit 0
  fi
  sleep 0.5
done
echo "slurm_up: the node did not come up; see $STATE/log/" >&2
exit 1
