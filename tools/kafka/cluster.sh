#!/usr/bin/env bash
# A real Apache Kafka cluster on 127.0.0.1 for tally's tests and for running
# tallyd against: N combined broker+controller nodes (KRaft), from Apache's
# own artifacts on Maven Central (tools/kafka/pom.xml), on the machine's JDK.
#
#   cluster.sh fetch              copy Kafka's jars into $TALLY_KAFKA_LIBS (once; mvn)
#   cluster.sh start N DIR        format and start N nodes with their data in DIR, wait
#                                 until every node serves, create the topic, print the
#                                 bootstrap list on the last line and return (the nodes
#                                 keep running in the background)
#   cluster.sh stop DIR           stop every node (SIGTERM, then SIGKILL after 30 s)
#   cluster.sh kill NODE DIR      SIGKILL node NODE (1..N)
#   cluster.sh restart NODE DIR   start node NODE again (stopping it first if it runs)
#                                 and wait until it serves
#   cluster.sh up DIR             start every node of DIR that is not running (after
#                                 `kill`s, or all of them after `stop`), wait until
#                                 every node serves, print the bootstrap list
#   cluster.sh bootstrap DIR      print the bootstrap list
#
# The topic: $TALLY_KAFKA_TOPIC (default tally.events), 6 partitions,
# replication factor min(N, 3), min.insync.replicas min(N, 2), kept forever
# (retention.ms=-1: the topic is the event history). Brokers never create a
# topic on their own (auto.create.topics.enable=false) and never elect a
# replica that is behind (unclean.leader.election.enable=false).
#
# Environment: TALLY_KAFKA_LIBS (default build/kafka/libs), TALLY_KAFKA_TOPIC,
# TALLY_KAFKA_PARTITIONS (default 6), TALLY_KAFKA_HEAP (default 384m per node).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
libs="${TALLY_KAFKA_LIBS:-$root/build/kafka/libs}"
topic="${TALLY_KAFKA_TOPIC:-tally.events}"
partitions="${TALLY_KAFKA_PARTITIONS:-6}"
heap="${TALLY_KAFKA_HEAP:-384m}"

log() { printf '[kafka] %s\n' "$*" >&2; }
die() { printf '[kafka] error: %s\n' "$*" >&2; exit 1; }

# The jars, once: a stamp holds the pom's hash, so a changed pom fetches again.
fetch() {
  local stamp="$libs/.pom.sha256" want
  want="$(sha256sum "$root/tools/kafka/pom.xml" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "jars present in $libs"
    return
  fi
  command -v mvn >/dev/null || die "mvn not found (tools/setup.sh deps installs it)"
  log "fetching Apache Kafka's jars with Maven into $libs"
  rm -rf "$libs"
  mvn -q -B -f "$root/tools/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  echo "$want" >"$stamp"
}

need_libs() {
  [ -f "$libs/.pom.sha256" ] || die "no Kafka jars in $libs: run tools/kafka/cluster.sh fetch"
}

java_run() {  # CLASS ARGS... in the foreground, quiet unless it fails
  java -Xmx256m -XX:TieredStopAtLevel=1 -cp "$libs/*" -Dlog4j2.configurationFile="$dir/log4j2-tools.properties" "$@"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

node_pid() {  # the pid of a running node, or nothing
  local f="$dir/node-$1/pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f" || true
}

broker_port() { sed -n "s/^$1 \([0-9]*\) .*/\1/p" "$dir/ports"; }

bootstrap_list() {
  awk '{printf "%s127.0.0.1:%s", (NR>1?",":""), $2} END {print ""}' "$dir/ports"
}

# Waits until node $1 answers metadata requests as a broker.
wait_serving() {
  local port; port="$(broker_port "$1")"
  for _ in $(seq 1 240); do
    if kcat -b "127.0.0.1:$port" -L -m 2 -J 2>/dev/null | grep -q '"brokers"'; then return 0; fi
    [ -n "$(node_pid "$1")" ] || die "node $1 exited while starting: $(tail -5 "$dir/node-$1/server.log" 2>/dev/null)"
    sleep 0.5
  done
  die "node $1 does not serve on 127.0.0.1:$port after 120 s (see $dir/node-$1/server.log)"
}

launch() {  # starts node $1 in the background
  local n="$1" node="$dir/node-$1"
  setsid java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$node/log4j2.properties" -cp "$libs/*" kafka.Kafka "$node/server.properties" \
    >"$node/stdout.log" 2>&1 </dev/null &
  echo $! >"$node/pid"
}

start() {
  local count="$1"
  [[ "$count" =~ ^[1-9][0-9]?$ ]] || die "N must be a node count, 1..99: $count"
  need_libs
  mkdir -p "$dir"
  [ ! -f "$dir/ports" ] || die "$dir already holds a cluster (stop it and remove the folder)"
  local rf=$((count < 3 ? count : 3)) isr=$((count < 2 ? count : 2)) voters="" n
  : >"$dir/ports.new"
  for n in $(seq 1 "$count"); do
    local b c; b="$(free_port)"; c="$(free_port)"
    while [ "$c" = "$b" ]; do c="$(free_port)"; done
    echo "$n $b $c" >>"$dir/ports.new"
    voters+="${voters:+,}$n@127.0.0.1:$c"
  done
  mv "$dir/ports.new" "$dir/ports"
  cat >"$dir/log4j2-tools.properties" <<EOF
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = %d [%p] %m%n
EOF
  local cluster_id
  cluster_id="$(java_run kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
  [ -n "$cluster_id" ] || die "kafka-storage random-uuid printed nothing"
  for n in $(seq 1 "$count"); do
    local node="$dir/node-$n" b c
    b="$(sed -n "s/^$n \([0-9]*\) \([0-9]*\)$/\1/p" "$dir/ports")"
    c="$(sed -n "s/^$n \([0-9]*\) \([0-9]*\)$/\2/p" "$dir/ports")"
    mkdir -p "$node/data"
    cat >"$node/server.properties" <<EOF
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$b,CONTROLLER://127.0.0.1:$c
advertised.listeners=PLAINTEXT://127.0.0.1:$b
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$node/data
num.partitions=$partitions
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
auto.create.topics.enable=false
unclean.leader.election.enable=false
group.initial.rebalance.delay.ms=0
# A node killed on purpose is fenced (its partitions get other leaders)
# after 3 s without a heartbeat, not Kafka's default 9 s.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
num.io.threads=2
num.network.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
log.flush.interval.messages=9223372036854775807
EOF
    cat >"$node/log4j2.properties" <<EOF
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $node/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
EOF
    java_run kafka.tools.StorageTool format -t "$cluster_id" -c "$node/server.properties" --ignore-formatted \
      >"$node/format.log" 2>&1 || die "formatting node $n failed: $(tail -3 "$node/format.log")"
  done
  for n in $(seq 1 "$count"); do launch "$n"; done
  for n in $(seq 1 "$count"); do wait_serving "$n"; done
  local bootstrap; bootstrap="$(bootstrap_list)"
  # Every broker registered with the controller before the topic is created,
  # or its replicas would be placed on fewer nodes.
  for _ in $(seq 1 120); do
    [ "$(kcat -b "$bootstrap" -L -J 2>/dev/null | jq '.brokers | length')" = "$count" ] && break
    sleep 0.5
  done
  java_run org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --create --if-not-exists \
    --topic "$topic" --partitions "$partitions" --replication-factor "$rf" \
    --config min.insync.replicas="$isr" --config retention.ms=-1 --config retention.bytes=-1 \
    >"$dir/topic.log" 2>&1 || die "creating $topic failed: $(tail -3 "$dir/topic.log")"
  log "$count node(s) serving, topic $topic: $partitions partitions, replication factor $rf, min.insync.replicas $isr"
  echo "$bootstrap"
}

stop() {
  [ -f "$dir/ports" ] || die "no cluster in $dir"
  local n pids=()
  for n in $(awk '{print $1}' "$dir/ports"); do
    local pid; pid="$(node_pid "$n")"
    [ -z "$pid" ] || { kill -TERM "$pid"; pids+=("$pid"); }
  done
  for _ in $(seq 1 60); do
    local alive=0 pid
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 1 ] || break
    sleep 0.5
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  log "stopped ${#pids[@]} node(s)"
}

check_node() {
  [ -f "$dir/ports" ] || die "no cluster in $dir"
  [ -n "$(broker_port "$1")" ] || die "no node $1 in $dir"
}

kill_node() {
  check_node "$1"
  local pid; pid="$(node_pid "$1")"
  [ -n "$pid" ] || die "node $1 is not running"
  kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  log "node $1 killed (SIGKILL)"
}

restart_node() {
  check_node "$1"
  need_libs
  local pid; pid="$(node_pid "$1")"
  if [ -n "$pid" ]; then
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  launch "$1"
  wait_serving "$1"
  log "node $1 serving again"
}

up() {
  [ -f "$dir/ports" ] || die "no cluster in $dir"
  need_libs
  local n started=0
  # All at once: a node alone cannot serve before a quorum of controllers runs.
  for n in $(awk '{print $1}' "$dir/ports"); do
    [ -n "$(node_pid "$n")" ] || { launch "$n"; started=$((started + 1)); }
  done
  for n in $(awk '{print $1}' "$dir/ports"); do wait_serving "$n"; done
  log "$started node(s) started; every node serving"
  bootstrap_list
}

cmd="${1:-}"
case "$cmd" in
  fetch) fetch ;;
  start) [ $# -eq 3 ] || die "usage: cluster.sh start N DIR"; dir="$(realpath -m "$3")"; start "$2" ;;
  stop) [ $# -eq 2 ] || die "usage: cluster.sh stop DIR"; dir="$(realpath -m "$2")"; stop ;;
  kill) [ $# -eq 3 ] || die "usage: cluster.sh kill NODE DIR"; dir="$(realpath -m "$3")"; kill_node "$2" ;;
  restart) [ $# -eq 3 ] || die "usage: cluster.sh restart NODE DIR"; dir="$(realpath -m "$3")"; restart_node "$2" ;;
  up) [ $# -eq 2 ] || die "usage: cluster.sh up DIR"; dir="$(realpath -m "$2")"; up ;;
  bootstrap) [ $# -eq 2 ] || die "usage: cluster.sh bootstrap DIR"; dir="$(realpath -m "$2")"; bootstrap_list ;;
  *) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
