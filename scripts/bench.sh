#!/usr/bin/env bash
# The standard Herald load measurements (docs/loadgen.md).
#
#   scripts/bench.sh TRANSPORT SCENARIO [herald-bench flags...]
#
# TRANSPORT is sse, ws or grpc. SCENARIO is one of:
#   1k-100    1 000 subscribers, 100 msg/s   (100 000 deliveries/s)
#   1k-10     1 000 subscribers, 10 msg/s    (10 000 deliveries/s)
#   10k-1     10 000 subscribers, 1 msg/s    (10 000 deliveries/s)
#   10k-10    10 000 subscribers, 10 msg/s   (100 000 deliveries/s)
#   idle-10k  10 000 idle connections held 200 s (memory per connection)
#   all       every scenario above, one after the other
# Extra flags go to herald-bench and win over the scenario's (e.g.
# --duration 10s, --json).
#
# The load generator is one client on a few loopback addresses, so the
# server's per-address connection limit is off (--max-connections-per-ip 0);
# every other setting is the default.
#
# Each scenario gets a fresh server, so that memory is measured from a
# clean heap. The server runs pinned to core 0 and the load generator to
# core 1 (taskset), both on loopback; the file limit is raised for them
# (to the hard limit when raising it further is not permitted).
#
# Environment: BENCH_GRPC_ADDR (default 127.0.0.1:19090) and
# BENCH_HTTP_ADDR (127.0.0.1:18080) are where the server listens;
# BENCH_SERVER_CPU (0) and BENCH_CLIENT_CPU (1) the cores; BENCH_NOFILE
# (200000) the file limit; BENCH_SERVER_FLAGS extra `herald serve` flags;
# BENCH_SERVER_ENV extra environment for the server (e.g. GODEBUG=...);
# BENCH_SERVER_LOG the file the server logs to (default: a new temporary
# file, named on stderr).
#
# BENCH_BRIDGE=1 measures a bridge instead (sse and ws only): the measured
# server is `herald bridge` on the server's core, in front of a core node
# (`herald serve` on BENCH_CORE_GRPC_ADDR, default 127.0.0.1:19190, and
# BENCH_CORE_HTTP_ADDR, 127.0.0.1:19180) that shares the load generator's
# core and takes the publishes. The core's subscribe rate limit is off too:
# the bridge presents no relay key here.
set -euo pipefail

cd "$(dirname "$0")/.."

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 2 ] || usage
transport=$1 scenario=$2
shift 2
case $transport in sse | ws | grpc) ;; *) usage ;; esac

bridge=${BENCH_BRIDGE:-}
if [ -n "$bridge" ] && [ "$transport" = grpc ]; then
  echo "bench.sh: a bridge serves sse and ws only" >&2
  exit 2
fi
core_grpc_addr=${BENCH_CORE_GRPC_ADDR:-127.0.0.1:19190}
core_http_addr=${BENCH_CORE_HTTP_ADDR:-127.0.0.1:19180}
grpc_addr=${BENCH_GRPC_ADDR:-127.0.0.1:19090}
http_addr=${BENCH_HTTP_ADDR:-127.0.0.1:18080}
server_cpu=${BENCH_SERVER_CPU:-0}
client_cpu=${BENCH_CLIENT_CPU:-1}
nofile=${BENCH_NOFILE:-200000}

command -v taskset >/dev/null || { echo "bench.sh: taskset is needed (util-linux)" >&2; exit 1; }
if ! ulimit -n "$nofile" 2>/dev/null; then
  # Without CAP_SYS_RESOURCE the hard limit is the ceiling; herald-bench
  # says so if a scenario needs more.
  ulimit -n "$(ulimit -Hn)"
  echo "bench.sh: cannot raise the file limit to $nofile; using the hard limit $(ulimit -n)" >&2
fi

echo "bench.sh: building bin/herald and bin/herald-bench" >&2
go build -o bin/herald ./cmd/herald
go build -o bin/herald-bench ./cmd/herald-bench

# The server's log goes to a file: at the end of a run it reports every
# stream it ends, which would drown the report.
server_log=${BENCH_SERVER_LOG:-$(mktemp "${TMPDIR:-/tmp}/herald-bench-server.XXXXXX.log")}
echo "bench.sh: server log in $server_log" >&2

server_pid= core_pid=
stop_server() {
  local pid
  for pid in "$server_pid" "$core_pid"; do
    if [ -n "$pid" ]; then
      kill -INT "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  server_pid= core_pid=
}
trap stop_server EXIT

# wait_ready waits until the process pid serves /readyz on addr.
wait_ready() {
  local pid=$1 addr=$2
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null; then
      # Listening; /readyz confirms it is serving (a bridge: connected).
      if ! command -v curl >/dev/null || curl -fsS -o /dev/null "http://$addr/readyz"; then
        return 0
      fi
    fi
    kill -0 "$pid" 2>/dev/null || { echo "bench.sh: a server exited; see $server_log" >&2; exit 1; }
    sleep 0.1
  done
  echo "bench.sh: the server did not become ready on $addr" >&2
  exit 1
}

start_server() {
  if [ -n "$bridge" ]; then
    taskset -c "$client_cpu" bin/herald serve --grpc-addr "$core_grpc_addr" --http-addr "$core_http_addr" \
      --log-level warn --max-connections-per-ip 0 --subscribe-rate 0 >>"$server_log" 2>&1 &
    core_pid=$!
    wait_ready "$core_pid" "$core_http_addr"
    # shellcheck disable=SC2086 # BENCH_SERVER_FLAGS is a list of flags
    env ${BENCH_SERVER_ENV:-} taskset -c "$server_cpu" bin/herald bridge --upstream "$core_grpc_addr" --http-addr "$http_addr" \
      --log-level warn --max-connections-per-ip 0 ${BENCH_SERVER_FLAGS:-} >>"$server_log" 2>&1 &
  else
    # shellcheck disable=SC2086 # BENCH_SERVER_FLAGS is a list of flags
    env ${BENCH_SERVER_ENV:-} taskset -c "$server_cpu" bin/herald serve --grpc-addr "$grpc_addr" --http-addr "$http_addr" \
      --log-level warn --max-connections-per-ip 0 ${BENCH_SERVER_FLAGS:-} >>"$server_log" 2>&1 &
  fi
  server_pid=$!
  wait_ready "$server_pid" "$http_addr"
}

run_scenario() {
  local name=$1
  shift
  local flags
  case $name in
    1k-100) flags=(--subscribers 1000 --rate 100 --duration 30s --warmup 5s) ;;
    1k-10) flags=(--subscribers 1000 --rate 10 --duration 30s --warmup 5s) ;;
    10k-1) flags=(--subscribers 10000 --rate 1 --duration 60s --warmup 5s) ;;
    10k-10) flags=(--subscribers 10000 --rate 10 --duration 30s --warmup 5s) ;;
    idle-10k) flags=(--subscribers 10000 --idle --duration 200s) ;;
    *) usage ;;
  esac
  echo "bench.sh: $transport $name${bridge:+ (bridge)}" >&2
  start_server
  local status=0
  local publish_addr=$grpc_addr
  [ -z "$bridge" ] || publish_addr=$core_grpc_addr
  taskset -c "$client_cpu" bin/herald-bench --transport "$transport" \
    --grpc-addr "$publish_addr" --http-addr "$http_addr" --server-pid "$server_pid" \
    "${flags[@]}" "$@" || status=$?
  stop_server
  return "$status"
}

if [ "$scenario" = all ]; then
  status=0
  for s in 1k-100 1k-10 10k-1 10k-10 idle-10k; do
    run_scenario "$s" "$@" || status=$?
  done
  exit "$status"
fi
run_scenario "$scenario" "$@"
