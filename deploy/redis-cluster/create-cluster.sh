#!/bin/sh
# Creates the Redis Cluster of docker-compose.yml's cluster profile from the masters named in
# REDIS_CLUSTER_NODES (host:port, space-separated), without replicas; run once by the
# redis-cluster-init service. Does nothing when the cluster already exists, so `up` can run it
# again. The topology tests run it against local redis-servers.
set -eu
: "${REDIS_CLUSTER_NODES:?set REDIS_CLUSTER_NODES to the host:port of every master}"
first=${REDIS_CLUSTER_NODES%% *}
host=${first%:*}
port=${first##*:}

ok() { redis-cli -h "$host" -p "$port" cluster info | grep -q '^cluster_state:ok'; }

if ok; then
    echo "redis cluster already created"
    exit 0
fi
# CLUSTER MEET takes addresses, not host names.
addrs=""
for n in $REDIS_CLUSTER_NODES; do
    ip=$(getent hosts "${n%:*}" | awk '{ print $1; exit }')
    if [ -z "$ip" ]; then
        echo "cannot resolve ${n%:*}" >&2
        exit 1
    fi
    addrs="$addrs $ip:${n##*:}"
done
# shellcheck disable=SC2086 # one argument per master
redis-cli --cluster create $addrs --cluster-replicas 0 --cluster-yes
i=0
until ok; do
    i=$((i + 1))
    if [ "$i" -ge 60 ]; then
        echo "redis cluster not ok after 60 s" >&2
        exit 1
    fi
    sleep 1
done
echo "redis cluster created:$addrs"
