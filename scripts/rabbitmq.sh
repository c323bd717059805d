#!/usr/bin/env bash
# A private RabbitMQ node for the tests that need a live management API.
#
#   bash scripts/rabbitmq.sh start|stop|status
#
# It runs Debian's rabbitmq-server (`apt-get install rabbitmq-server`; scripts/setup.sh
# installs it) as the calling user, with its own node name, ports, config, data and logs,
# so it never touches a RabbitMQ that already runs on the machine:
#
#   node name          sphinxext-rabbit@localhost
#   AMQP               127.0.0.1:5673    (a real broker has 5672)
#   management API     127.0.0.1:15673   (15672)  http://127.0.0.1:15673/
#   distribution       127.0.0.1:25673   (25672)
#   epmd               127.0.0.1:4370    (4369) its own epmd: the system's one keeps its
#                                        address, and `stop` can end ours
#   user               sphinx-test / sphinx-test-password, tag administrator, all
#                      permissions on /; vhosts it creates through the API are its own
#   plugins            management, shovel(+management), federation(+management),
#                      consistent-hash exchange
#   files              $SPHINXEXT_RABBIT_BROKER_DIR, default /tmp/sphinxext-rabbit-broker
#                      (rabbitmq.conf, enabled_plugins, mnesia/, log/broker.log)
#
# start: starts the node on an empty database (a test run begins from a clean broker),
#        waits until the management API answers (90 s at most; else prints the log tail
#        and exits 1). Does nothing when the API already answers.
# stop:  stops the node and its epmd and waits until they are gone.
# status: exits 0 if and only if the management API answers with this user.
# tests/broker.py holds the same ports and user: change both together.
set -euo pipefail

readonly amqp_port=5673
readonly management_port=15673
readonly dist_port=25673
readonly epmd_port=4370
readonly user=sphinx-test
readonly password=sphinx-test-password
readonly node=sphinxext-rabbit@localhost
readonly plugins="rabbitmq_management,rabbitmq_shovel,rabbitmq_shovel_management,\
rabbitmq_federation,rabbitmq_federation_management,rabbitmq_consistent_hash_exchange"
readonly server=/usr/lib/rabbitmq/bin/rabbitmq-server
readonly start_timeout=90
readonly stop_timeout=60

dir="${SPHINXEXT_RABBIT_BROKER_DIR:-/tmp/sphinxext-rabbit-broker}"
pid_file="$dir/rabbitmq.pid"
log="$dir/log/broker.log"
startup_log="$dir/log/startup.log"

api_answers() {
    python3 - "$management_port" "$user" "$password" <<'EOF'
import base64, sys, urllib.request
port, user, password = sys.argv[1:]
request = urllib.request.Request(f"http://127.0.0.1:{port}/api/overview")
token = base64.b64encode(f"{user}:{password}".encode()).decode()
request.add_header("Authorization", f"Basic {token}")
try:
    with urllib.request.urlopen(request, timeout=5) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
}

node_pid() {
    # the pid of our running node, or nothing
    local pid
    pid="$(cat "$pid_file" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        echo "$pid"
    fi
}

log_tail() {
    local file
    for file in "$startup_log" "$log"; do
        if [ -s "$file" ]; then
            echo "--- last lines of $file (cut at 400 characters):" >&2
            tail -n 30 "$file" | cut -c1-400 >&2
        fi
    done
    if grep -qs eaddrinuse "$startup_log" "$log"; then
        echo "rabbitmq: a port the node needs is taken (AMQP $amqp_port, management" \
             "$management_port, distribution $dist_port, epmd $epmd_port): 'ss -ltnp' says" \
             "by what" >&2
    fi
}

write_config() {
    mkdir -p "$dir/log"
    : >"$dir/rabbitmq-env.conf"  # instead of /etc/rabbitmq/rabbitmq-env.conf
    echo "[${plugins}]." >"$dir/enabled_plugins"
    cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$amqp_port
management.tcp.ip = 127.0.0.1
management.tcp.port = $management_port
default_user = $user
default_pass = $password
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
log.console = false
# queue figures (messages, consumers) reach the API within a second, not five
collect_statistics_interval = 1000
log.file.level = info
EOF
}

start() {
    if api_answers; then
        echo "rabbitmq: already running: http://127.0.0.1:$management_port/ (user $user)"
        return 0
    fi
    if [ ! -x "$server" ]; then
        echo "rabbitmq: $server not found: install it with 'bash scripts/setup.sh'" \
             "(or apt-get install rabbitmq-server)" >&2
        return 1
    fi
    if [ -z "$(node_pid)" ]; then
        # a clean broker each time: no vhost or user of an earlier run survives
        rm -rf "$dir/mnesia" "$dir/log" "$pid_file"
        write_config
        # setsid: the node outlives the shell (and the pytest run) that started it, and
        # their process group; 9>&-: it must not hold the lock
        HOME="$dir" \
        ERL_EPMD_PORT="$epmd_port" \
        ERL_EPMD_ADDRESS=127.0.0.1 \
        RABBITMQ_NODENAME="$node" \
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_NODE_PORT="$amqp_port" \
        RABBITMQ_DIST_PORT="$dist_port" \
        RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" \
        RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
        RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
        RABBITMQ_MNESIA_BASE="$dir/mnesia" \
        RABBITMQ_LOG_BASE="$dir/log" \
        RABBITMQ_LOGS="$log" \
        RABBITMQ_PID_FILE="$pid_file" \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
            setsid --wait "$server" </dev/null >"$startup_log" 2>&1 9>&- &
        # --wait: whether setsid forks or not, this pid lives as long as the node
        launcher=$!
        echo "rabbitmq: starting $node (files in $dir)"
    else
        launcher="$(node_pid)"
        echo "rabbitmq: $node is starting; waiting for it"
    fi
    local waited=0
    until api_answers; do
        if [ "$waited" -ge $((start_timeout * 2)) ]; then
            echo "rabbitmq: the management API did not answer on" \
                 "http://127.0.0.1:$management_port/ within $start_timeout s" >&2
            log_tail
            return 1
        fi
        if ! kill -0 "$launcher" 2>/dev/null; then
            echo "rabbitmq: the node stopped while starting" >&2
            log_tail
            return 1
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
    echo "rabbitmq: ready: http://127.0.0.1:$management_port/ (user $user)"
}

stop() {
    local pid waited=0
    pid="$(node_pid)"
    if [ -n "$pid" ]; then
        kill -TERM "$pid"  # the Erlang VM shuts RabbitMQ down cleanly on SIGTERM
        while kill -0 "$pid" 2>/dev/null; do
            if [ "$waited" -ge $((stop_timeout * 2)) ]; then
                echo "rabbitmq: $node did not stop within $stop_timeout s; killing it" >&2
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.5
            waited=$((waited + 1))
        done
        echo "rabbitmq: stopped $node"
    else
        echo "rabbitmq: $node is not running"
    fi
    rm -f "$pid_file"
    # our own epmd (its port is ours alone); it ends once no node is registered
    epmd -port "$epmd_port" -kill >/dev/null 2>&1 || true
}

command="${1:-}"
case "$command" in
    start|stop)
        mkdir -p "$dir"
        # one start or stop at a time (two test runs may start it together)
        exec 9>"$dir/lock"
        flock -w $((start_timeout + stop_timeout)) 9
        "$command"
        ;;
    status)
        if api_answers; then
            echo "rabbitmq: running: http://127.0.0.1:$management_port/ (user $user)"
        else
            echo "rabbitmq: not answering on http://127.0.0.1:$management_port/"
            exit 1
        fi
        ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
