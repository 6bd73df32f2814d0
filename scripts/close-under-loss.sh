#!/usr/bin/env bash
# close() under packet loss, for real: two network namespaces joined by a veth pair, LOSS% of the
# packets dropped in each direction, the servers in one and lifeline's pools and feeds in the other.
# Needs root, iproute2 and nftables (netem is the usual tool, but this kernel may not have sch_netem;
# nftables' `numgen random` drops as well).
#   sudo bash scripts/close-under-loss.sh [ROUNDS] [LOSS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-10}
LOSS=${2:-30}
A=ll-loss-client B=ll-loss-server
cleanup() { kill "${SERVER:-}" 2>/dev/null || true; ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add $A
ip netns add $B
ip link add ll-veth-a type veth peer name ll-veth-b
ip link set ll-veth-a netns $A
ip link set ll-veth-b netns $B
ip -n $A addr add 10.77.0.1/24 dev ll-veth-a
ip -n $B addr add 10.77.0.2/24 dev ll-veth-b
for ns in $A $B; do ip -n $ns link set lo up; done
ip -n $A link set ll-veth-a up
ip -n $B link set ll-veth-b up
if ip netns exec $A tc qdisc add dev ll-veth-a root netem loss "$LOSS%" 2>/dev/null; then
  ip netns exec $B tc qdisc add dev ll-veth-b root netem loss "$LOSS%"
  echo "loss: netem $LOSS% each way"
else
  for ns in $A $B; do
    ip netns exec $ns nft add table inet lossy
    ip netns exec $ns nft add chain inet lossy out '{ type filter hook output priority 0; }'
    ip netns exec $ns nft add rule inet lossy out oifname "ll-veth-*" numgen random mod 100 '<' "$LOSS" drop
  done
  echo "loss: nftables numgen random, $LOSS% each way (no netem here)"
fi
ip netns exec $B node --import tsx scripts/close-under-loss.ts server 10.77.0.2 &
SERVER=$!
sleep 2
ip netns exec $A node --import tsx scripts/close-under-loss.ts client 10.77.0.2 "$ROUNDS"
