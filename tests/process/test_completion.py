#!/usr/bin/python3
"""fastvsadm's bash completion (control/fastvsadm/fastvsadm.bash-completion), loaded in bash
with bash-completion's helpers as an interactive shell loads it, against a running fastvsd (on
net_ring ports): commands and options, schedulers, services and real servers from the live
daemon (its socket given on the line or in FASTVS_SOCKET), ports after `dev`, and nothing (no
message, no wait) when no fastvsd answers."""
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fvtest import RingDaemonTest, fastvsd_path  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")
COMPLETION = os.environ.get("FASTVS_COMPLETION") or os.path.join(
    HERE, "..", "..", "control", "fastvsadm", "fastvsadm.bash-completion")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"

# What bash does before calling a completion function: COMP_LINE, COMP_POINT, and the line
# split into COMP_WORDS at blanks and at COMP_WORDBREAKS (a run of '=' or ':' is a word of its
# own); then it calls the function with the command, the current word and the previous one.
# compopt only works inside a real completion: stubbed.
DRIVER = r"""
source "$FV_BASH_COMPLETION" || exit 3
source "$FV_COMPLETION" || exit 3
compopt() { :; }
COMP_LINE=$FV_LINE
COMP_POINT=${#COMP_LINE}
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
_fastvsadm "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""

SEED = [
    "ip addr add 172.16.254.200/24 dev dpdk0",
    "ip addr add 192.168.0.8/24 dev dpdk1",
    "-A -t 172.16.254.200:80 -s wrr",
    "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1",
    "-a -t 172.16.254.200:80 -r 192.168.0.28:8080 -m -w 1",
    "-A -t 172.16.254.201:443 -s rr",
    "-a -t 172.16.254.201:443 -r 192.168.0.38:443 -m",
    "-A -u 172.16.254.200:53 -s sh",
    "-a -u 172.16.254.200:53 -r 192.168.0.48:53 -m",
    "-A -f 80 -s rr",
    "-a -f 80 -r 192.168.0.18 -m",
]


def comp_words(line):
    words = re.findall(r"[=:]+|[^\s=:]+", line)
    if not words or line[-1].isspace():
        words.append("")
    return words


class Completion(RingDaemonTest):
    PREFIX = "fvscomp"

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(BASH_COMPLETION):
            raise unittest.SkipTest(f"{BASH_COMPLETION} missing: apt-get install bash-completion")
        super().setUpClass()
        for line in SEED:
            subprocess.run([FASTVSADM, "--socket", cls.sock, *line.split()], check=True,
                           capture_output=True, timeout=20)

    def complete(self, line, env_socket=None):
        """COMPREPLY for `line` (the cursor at its end), as readline would insert it. Without
        env_socket, FASTVS_SOCKET is unset (the line names the socket or nobody answers)."""
        env = {k: v for k, v in os.environ.items() if k != "FASTVS_SOCKET"}
        if env_socket:
            env["FASTVS_SOCKET"] = env_socket
        env.update(FV_LINE=line, FV_COMPLETION=COMPLETION, FV_BASH_COMPLETION=BASH_COMPLETION,
                   PATH=os.path.dirname(FASTVSADM) + ":" + env.get("PATH", "/usr/bin:/bin"))
        r = subprocess.run(["bash", "--norc", "--noprofile", "-c", DRIVER, "bash",
                            *comp_words(line)], env=env, capture_output=True, text=True,
                           timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "", f"{line!r} printed on stderr")
        return [w for w in r.stdout.split("\n") if w]

    def on_line(self, rest):
        return f"fastvsadm --socket {self.sock} {rest}"

    def test_commands_first(self):
        got = self.complete("fastvsadm ")
        for w in ("-A", "-E", "-D", "-C", "-a", "-e", "-d", "-L", "-l", "-S", "-R", "-Z",
                  "--set", "--add-service", "ip", "--check", "--keepalived-reload", "--socket",
                  "--help"):
            self.assertIn(w, got)
        self.assertEqual(self.complete("fastvsadm --ed"), ["--edit-service", "--edit-server"])

    def test_options_of_the_command_once(self):
        got = self.complete("fastvsadm -A -t 10.0.0.1:80 -")
        self.assertEqual(got, ["-s", "-b", "-p", "-M", "-o", "--scheduler", "--sched-flags",
                               "--persistent", "--netmask", "--ops"])
        got = self.complete("fastvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -m --weight=2 -")
        self.assertEqual(got, ["-x", "-y", "--u-threshold", "--l-threshold"])
        got = self.complete("fastvsadm -Ln --")
        self.assertIn("--stats", got)
        self.assertIn("--rate", got)
        self.assertNotIn("--numeric", got)
        self.assertNotIn("--scheduler", got)

    def test_schedulers_and_flags(self):
        self.assertEqual(self.complete("fastvsadm -A -t 10.0.0.1:80 -s "),
                         ["rr", "wrr", "lc", "wlc", "sh", "sed", "nq", "fo", "ovf", "dh", "mh",
                          "twos", "lblc", "lblcr"])
        self.assertEqual(self.complete("fastvsadm -A -t 10.0.0.1:80 -s lb"), ["lblc", "lblcr"])
        self.assertEqual(self.complete("fastvsadm -A -t 10.0.0.1:80 -s w"), ["wrr", "wlc"])
        self.assertEqual(self.complete("fastvsadm -E -t 10.0.0.1:80 --scheduler=s"),
                         ["sh", "sed"])
        self.assertEqual(self.complete("fastvsadm -A -t 10.0.0.1:80 -s mh -b "),
                         ["mh-fallback", "mh-port"])
        self.assertEqual(self.complete("fastvsadm -A -t 10.0.0.1:80 -s sh -b sh-port,"),
                         ["sh-port,sh-fallback"])

    def test_services_from_the_daemon(self):
        self.assertEqual(self.complete(self.on_line("-E -t ")),
                         ["172.16.254.200:80", "172.16.254.201:443"])
        self.assertEqual(self.complete(self.on_line("-D -u ")), ["172.16.254.200:53"])
        self.assertEqual(self.complete(self.on_line("-L -n -t 172.16.254.201")),
                         ["172.16.254.201:443"])
        # The socket from the environment, and --socket=PATH.
        self.assertEqual(self.complete("fastvsadm -Z -t ", env_socket=self.sock),
                         ["172.16.254.200:80", "172.16.254.201:443"])
        self.assertEqual(self.complete(f"fastvsadm --socket={self.sock} -D -u "),
                         ["172.16.254.200:53"])
        # -A makes a new service: the existing ones are no answer.
        self.assertEqual(self.complete(self.on_line("-A -t ")), [])
        # Firewall-mark services by their marks.
        self.assertEqual(self.complete(self.on_line("-E -f ")), ["80"])
        self.assertEqual(self.complete(self.on_line("-A -f ")), [])

    def test_iptables(self):
        self.assertIn("iptables", self.complete("fastvsadm "))
        self.assertEqual(self.complete("fastvsadm iptables -t "), ["mangle"])
        self.assertEqual(self.complete("fastvsadm iptables -t mangle -A "), ["PREROUTING"])
        self.assertEqual(self.complete("fastvsadm iptables -t mangle -A PREROUTING -p "),
                         ["tcp", "udp", "all"])
        self.assertEqual(self.complete("fastvsadm ip6tables -t mangle -A PREROUTING -j "),
                         ["MARK"])
        self.assertIn("--dports", self.complete("fastvsadm iptables -t mangle -A PREROUTING --"))

    def test_real_servers_of_the_lines_service(self):
        self.assertEqual(self.complete(self.on_line("-e -t 172.16.254.200:80 -r ")),
                         ["192.168.0.18:80", "192.168.0.28:8080"])
        self.assertEqual(self.complete(self.on_line("-d -t 172.16.254.201:443 -r ")),
                         ["192.168.0.38:443"])
        self.assertEqual(self.complete(self.on_line("-d -u 172.16.254.200:53 -r ")),
                         ["192.168.0.48:53"])
        # After a ':' readline replaces only what follows it.
        self.assertEqual(self.complete(self.on_line("-d -t 172.16.254.200:80 -r 192.168.0.28:")),
                         ["8080"])
        self.assertEqual(
            self.complete(self.on_line("--check add -t 172.16.254.200:80 -r 192.168.0.1")),
            ["192.168.0.18:80"])

    def test_ip_and_check(self):
        self.assertEqual(self.complete("fastvsadm ip "),
                         ["-s", "-4", "addr", "route", "neigh", "link"])
        self.assertEqual(self.complete("fastvsadm ip ro "), ["add", "del", "show"])
        self.assertEqual(self.complete("fastvsadm ip route add default "), ["via", "dev"])
        self.assertEqual(self.complete(self.on_line("ip addr add 10.1.1.1/24 dev ")),
                         ["dpdk0", "dpdk1"])
        self.assertEqual(self.complete("fastvsadm --check "), ["add", "del", "pool", "list"])
        self.assertEqual(self.complete("fastvsadm --check add -t 10.0.0.1:80 -r 10.0.0.2 "),
                         ["tcp", "http", "ssl", "udp", "dns", "ping", "smtp", "misc", "file"])
        self.assertIn("path=", self.complete("fastvsadm --check add -t 10.0.0.1:80 -r 10.0.0.2 "
                                             "http "))
        self.assertIn("require_reply=", self.complete("fastvsadm --check add -u 10.0.0.1:53 -r "
                                                      "10.0.0.2 udp "))
        ping = self.complete("fastvsadm --check add -t 10.0.0.1:80 -r 10.0.0.2 ping ")
        self.assertIn("timeout=", ping)
        self.assertNotIn("port=", ping)
        self.assertEqual(self.complete("fastvsadm --check add -t 10.0.0.1:80 -r 10.0.0.2 file "),
                         ["file=", "weight=", "reverse", "inhibit"])

    def test_sync_daemon(self):
        self.assertEqual(self.complete("fastvsadm --st"), ["--start-daemon", "--stop-daemon"])
        self.assertEqual(self.complete("fastvsadm --start-daemon "), ["master", "backup"])
        self.assertEqual(self.complete("fastvsadm --stop-daemon=b"), ["backup"])
        self.assertEqual(self.complete("fastvsadm --start-daemon master --syncid 3 --"),
                         ["--mcast-interface", "--sync-maxlen", "--mcast-group", "--mcast-port",
                          "--mcast-ttl"])
        self.assertEqual(self.complete("fastvsadm --stop-daemon master "), [])
        self.assertEqual(
            self.complete(self.on_line("--start-daemon backup --mcast-interface ")),
            ["dpdk0", "dpdk1"])
        self.assertIn("--daemon", self.complete("fastvsadm -L --"))

    def test_no_daemon_no_words_no_message(self):
        missing = os.path.join(self.dir, "nobody.sock")
        start = time.monotonic()
        self.assertEqual(self.complete(f"fastvsadm --socket {missing} -E -t "), [])
        self.assertEqual(self.complete(f"fastvsadm --socket {missing} -e -t 10.0.0.1:80 -r "),
                         [])
        self.assertEqual(self.complete(f"fastvsadm --socket {missing} ip addr add 1.1.1.1 dev "),
                         [])
        self.assertLess(time.monotonic() - start, 10)


if __name__ == "__main__":
    unittest.main(verbosity=2)
