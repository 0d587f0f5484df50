#!/bin/sh
# make cluster: a local ZooKeeper (Debian's zookeeper package, installed
# when missing) on 127.0.0.1:2181 and three brokers (ids 1-3) on
# 127.0.0.1:9092-9094, data under ./cluster. Ctrl-C stops them all.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
dir=$(realpath -m "${CLUSTER_DIR:-cluster}")
mkdir -p "$dir/zk" "$dir/logs"
go build -o "$dir/cloudkafka" ./cmd/cloudkafka
pids=""
stop() {
	trap - INT TERM EXIT
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap stop INT TERM EXIT
# ZooKeeperServerMain: port, data directory, tick time (ms), max client connections.
java -Xmx256m -Dzookeeper.admin.enableServer=false -cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar \
	org.apache.zookeeper.server.ZooKeeperServerMain 2181 "$dir/zk" 2000 60 >"$dir/logs/zookeeper.log" 2>&1 &
pids="$pids $!"
for id in 1 2 3; do
	port=$((9091 + id))
	"$dir/cloudkafka" config/server.properties \
		--override broker.id=$id \
		--override listeners=PLAINTEXT://127.0.0.1:$port \
		--override log.dirs="$dir/broker-$id" \
		--override zookeeper.connect=127.0.0.1:2181 >"$dir/logs/broker-$id.log" 2>&1 &
	pids="$pids $!"
done
echo "ZooKeeper on 127.0.0.1:2181; brokers 1-3 on 127.0.0.1:9092-9094 (logs in $dir/logs). Ctrl-C stops them."
echo "Try: go run ./cmd/ckctl -b 127.0.0.1:9092 cluster"
wait
