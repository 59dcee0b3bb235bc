# shellcheck shell=bash
# Helpers shared by the test/infra scripts. Source it; it defines functions
# only and changes no shell options.
#
# Processes are always handled by PID, never by name, and "stopped" means the
# process is gone AND its ports no longer accept connections, so a restart can
# never be answered by the old server.

# shellcheck disable=SC2034 # used by the scripts that source this file
INFRA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { printf '%s: %s\n' "${LOG_TAG:-infra}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# alive PID: true while the process exists and is not a zombie. An orphaned
# server whose reaper never calls wait() stays a zombie, which kill -0 still
# reports as running.
alive() {
	local pid=$1 state
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
	state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
	[[ $state != Z ]]
}

# port_in_use PORT: true when something accepts TCP connections on
# 127.0.0.1:PORT. Uses bash's /dev/tcp so no ss/netstat/nc is needed.
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_port_free PORT [SECONDS]
wait_port_free() {
	local port=$1 deadline=$((SECONDS + ${2:-15}))
	while port_in_use "$port"; do
		((SECONDS < deadline)) || { log "port $port still in use after ${2:-15}s"; return 1; }
		sleep 0.1
	done
}

# stop_pid PID NAME [SECONDS]: SIGTERM, wait until the process is gone,
# SIGKILL after SECONDS (default 10).
stop_pid() {
	local pid=$1 name=$2 deadline=$((SECONDS + ${3:-10}))
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	while alive "$pid"; do
		if ((SECONDS >= deadline)); then
			log "$name (pid $pid) ignored SIGTERM, sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			deadline=$((SECONDS + 5))
			while alive "$pid"; do
				((SECONDS < deadline)) || { log "$name (pid $pid) does not die"; return 1; }
				sleep 0.1
			done
			return 0
		fi
		sleep 0.05
	done
}

# pick_port NAME DEFAULT EXPLICIT: prints a port to use. An EXPLICIT port
# (the caller set the variable) must be free or we fail; otherwise the first
# free port from DEFAULT upwards (20 tries) is used.
pick_port() {
	local name=$1 def=$2 explicit=$3 p
	if [[ -n $explicit ]]; then
		port_in_use "$explicit" && die "$name port $explicit (set by you) is already in use on 127.0.0.1"
		echo "$explicit"
		return
	fi
	for ((p = def; p < def + 20; p++)); do
		if ! port_in_use "$p"; then
			[[ $p != "$def" ]] && log "$name: default port $def is busy, using $p"
			echo "$p"
			return
		fi
	done
	die "$name: ports $def..$((def + 19)) are all in use on 127.0.0.1"
}
