#!/bin/sh
# Regenerates the listings here from the real iptables and ip6tables (Debian 12's 1.8.9), run
# in a network namespace of their own: each line of commands.txt, then -S, -S PREROUTING, -L,
# -L -n --line-numbers for each family. Root only; the namespace goes at the end.
set -eu
cd "$(dirname "$0")"
ns="fvs-ipt-fixtures-$$"
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
grep -v '^#' commands.txt | while read -r line; do
  # shellcheck disable=SC2086
  ip netns exec "$ns" $line
done
for tool in iptables ip6tables; do
  ip netns exec "$ns" "$tool" -t mangle -S > "$tool.S"
  ip netns exec "$ns" "$tool" -t mangle -S PREROUTING > "$tool.S-PREROUTING"
  ip netns exec "$ns" "$tool" -t mangle -L > "$tool.L"
  ip netns exec "$ns" "$tool" -t mangle -L PREROUTING -n --line-numbers > "$tool.Ln"
done
