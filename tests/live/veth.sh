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

# probe_ready LOG WORKERS PID: waits until the probe's log says every
# capture socket is open ("listening on" for one worker; "N capture workers
# on" once all N have joined the fanout group); what is sent after that
# waits in the kernel ring. A fixed sleep was too short for an ASan build on
# a loaded machine (the first 0.1 s of traffic missed). 1: the probe ended
# or did not open within 60 s.
probe_ready() {
  local log=$1 workers=$2 pid=$3 t=60 pat='listening on ' i=0
  [ "$workers" -gt 1 ] && pat="$workers capture workers on "
  while ! grep -q "$pat" "$log" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { echo "the probe ended before opening its capture"; cat "$log"; return 1; }
    i=$((i + 1))
    [ $i -gt $((t * 10)) ] && { echo "the probe did not open its capture in $t s"; return 1; }
    sleep 0.1
  done
}
