#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the SLURM tests (tests/tools/test_slurm_cluster.py).
#
#   .ci/slurm_cluster.sh start DIR   install slurmctld/slurmd/munge if missing (root + apt), write
#                                    DIR/slurm.conf (this machine as the only node, partition "ci",
#                                    no accounting), start munged, slurmctld and slurmd, wait until
#                                    sinfo shows the node idle; then print "SLURM_CONF=DIR/slurm.conf"
#   .ci/slurm_cluster.sh stop DIR    stop the three daemons started in DIR
#
# SLURMCTLD_PORT and SLURMD_PORT choose the daemons' ports (default 6817 and 6818).
# Clients (sbatch, squeue, scontrol, scancel) find the cluster through SLURM_CONF=DIR/slurm.conf.
# Without accounting there is no sacct: finished jobs stay visible to `scontrol show job` for
# MinJobAge seconds, and DIR/jobcomp.log gets one line per finished job (jobcomp/filetxt).
# Exits 3 with a one-line reason on stderr when the cluster cannot run here (not root, no apt).
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
action=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)
conf=$dir/slurm.conf
export SLURM_CONF=$conf

cannot_run() { echo "cannot start a SLURM cluster here: $*" >&2; exit 3; }
fail() { echo "SLURM cluster in $dir: $*" >&2; exit 1; }

install_packages() {
    local missing=()
    command -v munged >/dev/null || missing+=(munge)
    command -v slurmctld >/dev/null || missing+=(slurmctld)
    command -v slurmd >/dev/null || missing+=(slurmd)
    command -v sbatch >/dev/null || missing+=(slurm-client)
    [[ ${#missing[@]} -eq 0 ]] && return
    [[ $(id -u) -eq 0 ]] || cannot_run "${missing[*]} not installed and not root (apt-get needs root)"
    command -v apt-get >/dev/null || cannot_run "${missing[*]} not installed and no apt-get"
    echo "installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
        || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; } \
        || cannot_run "apt-get install ${missing[*]} failed"
}

write_config() {
    local node cpus memory_mb
    node=$(hostname -s)
    cpus=$(nproc)
    (( cpus >= 2 )) || cpus=2  # the tests run 2 tasks of 1 CPU; SlurmdParameters=config_overrides allows it
    memory_mb=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
    mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
    cat > "$conf" <<EOF
# One-node test cluster written by .ci/slurm_cluster.sh; every file lives in $dir.
ClusterName=ci
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# A requeued job waits cred_expire + 1 s before it may start again (120 s by default).
AuthInfo=socket=$dir/munge/munge.socket,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=${SLURMCTLD_PORT:-6817}
SlurmdPort=${SLURMD_PORT:-6818}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
# Look at the queue every second (a requeued job starts as soon as it is eligible).
SchedulerParameters=sched_interval=1
SlurmdParameters=config_overrides
ReturnToService=2
# No accounting database: job states come from scontrol (kept MinJobAge s) and jobcomp.log.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.log
MinJobAge=600
# Short waits: a killed job's processes get KillWait s between SIGTERM and SIGKILL.
KillWait=5
MessageTimeout=10
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
JobRequeue=1
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory_mb State=UNKNOWN
PartitionName=ci Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
}

start_daemons() {
    # Our own munge key and socket: no clash with a munged the machine may already run.
    [[ -f $dir/munge/munge.key ]] || mungekey --create --keyfile="$dir/munge/munge.key" >&2
    chmod 700 "$dir/munge" && chmod 600 "$dir/munge/munge.key"
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" \
        </dev/null >"$dir/munge/munged.out" 2>&1 || fail "munged did not start: $(tail -n 3 "$dir/munge/munged.out" "$dir/munge/munged.log" 2>/dev/null)"
    slurmctld -D -i -f "$conf" </dev/null >"$dir/slurmctld.out" 2>&1 &
    echo $! > "$dir/slurmctld.daemon"
    slurmd -D -f "$conf" </dev/null >"$dir/slurmd.out" 2>&1 &
    echo $! > "$dir/slurmd.daemon"
}

wait_until_idle() {
    local state=""
    for _ in $(seq 120); do
        state=$(sinfo --noheader --format=%T 2>/dev/null || true)
        [[ $state == idle ]] && return 0
        sleep 0.5
    done
    echo "node never became idle (last sinfo state: '${state:-no answer}'); logs:" >&2
    tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
    stop_daemons
    exit 1
}

stop_daemons() {
    local name pid
    for name in slurmd slurmctld; do
        [[ -f $dir/$name.daemon ]] || continue
        pid=$(cat "$dir/$name.daemon")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$dir/$name.daemon"
    done
    if [[ -f $dir/munge/munged.pid ]]; then
        kill "$(cat "$dir/munge/munged.pid")" 2>/dev/null || true
        rm -f "$dir/munge/munged.pid"
    fi
}

case $action in
    start)
        install_packages
        write_config
        start_daemons
        wait_until_idle
        echo "SLURM_CONF=$conf"
        ;;
    stop) stop_daemons ;;
    *) usage ;;
esac
