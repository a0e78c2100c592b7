# veth.sh - sourced by the live tests and the live benchmarks: a veth pair
# whose far end sits in a network namespace of the caller's own.
#   veth_up NS NEAR FAR   returns 77 (skip) when this host cannot make them
#   veth_down NS NEAR
veth_up() {
  local ns=$1 a=$2 b=$3
  ip netns add "$ns" || { echo "SKIP: cannot create a network namespace here"; return 77; }
  ip link add "$a" type veth peer name "$b" || { echo "SKIP: cannot create veth"; return 77; }
  ip link set "$b" netns "$ns"
  ip link set "$a" up
  ip netns exec "$ns" ip link set "$b" up
  # no IPv6 chatter from the kernel on the test link
  sysctl -qw "net.ipv6.conf.$a.disable_ipv6=1" 2>/dev/null
  return 0
}

veth_down() {
  ip link del "$2" 2>/dev/null
  ip netns del "$1" 2>/dev/null
}
