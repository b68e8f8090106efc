#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the Slurm executor's tests and for trying it:
#   tools/slurm-local.sh start    # installs slurm-wlm + munge (Debian) if missing, configures, starts
#   tools/slurm-local.sh stop     # stops slurmd, slurmctld, munged
#   tools/slurm-local.sh status   # sinfo
# Idempotent: start on a running cluster only checks it. Needs root (or sudo) for the packages,
# /etc/slurm and the daemons. No cgroups and no accounting database: process tracking by
# /proc (proctrack/linuxproc), the job-completion log in a text file.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
host=$(hostname -s)
conf=/etc/slurm/slurm.conf

install() {
  local need=()
  for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing Debian packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
  fi
}

configure() {
  local cpus mem
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
  $SUDO mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
  $SUDO tee "$conf" > /dev/null <<CONF
# Written by tools/slurm-local.sh: one node, no cgroups, no accounting database.
ClusterName=serwb
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  if [ ! -s /etc/munge/munge.key ]; then
    $SUDO mkdir -p /etc/munge
    $SUDO dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  $SUDO chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
  $SUDO chmod 0400 /etc/munge/munge.key
}

running() { pgrep -x "$1" > /dev/null; }

start() {
  install
  configure
  running munged || $SUDO runuser -u munge -- /usr/sbin/munged
  running slurmctld || $SUDO /usr/sbin/slurmctld
  running slurmd || $SUDO /usr/sbin/slurmd
  for _ in $(seq 1 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'; then
      echo "slurm: node $host up ($(sinfo -h -o '%c CPUs, partition %P'))"
      return 0
    fi
    sleep 1
  done
  echo "slurm: node did not come up; see /var/log/slurm/slurmctld.log and slurmd.log" >&2
  sinfo >&2 || true
  return 1
}

stop() {
  for d in slurmd slurmctld munged; do
    if running "$d"; then $SUDO pkill -x "$d" || true; fi
  done
  for _ in $(seq 1 20); do
    running slurmd || running slurmctld || running munged || return 0
    sleep 0.5
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) sinfo ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
