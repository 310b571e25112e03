#!/usr/bin/python3
"""Every command and option of ipvsadm's man page (Debian's ipvsadm 1.31, read at test time from
the installed package) is taken by fastvsadm and does what the page says, or is refused with a
message that says why: never "unknown option". A new option in the page fails the test until
it has a line here. Also: host names are looked up as ipvsadm looks them up (through
/etc/hosts, in a mount namespace of the test's own), and -v."""
import gzip
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fvtest import RingDaemonTest, fastvsd_path  # noqa: E402

FASTVSADM = os.path.join(os.path.dirname(fastvsd_path()), "fastvsadm")
MAN_PAGE = "/usr/share/man/man8/ipvsadm.8.gz"

BASE = ["-A -t 10.0.0.100:80 -s rr", "-a -t 10.0.0.100:80 -r 10.0.0.2:80 -m"]
SVC = "-t 10.0.0.100:80"
NOT_YET = "is not supported yet"


def saved(text):
    return ("saved", text)


def gone(text):
    return ("gone", text)


def prints(text):
    return ("prints", text)


def refused(text):
    return ("refused", text)


def thresholds(text):
    """-S writes no thresholds (ipvsadm's print_service_entry neither): -L --thresholds."""
    return ("thresholds", text)


# Each option of the page: (command line on top of BASE, what must happen[, standard input]).
WALK = {
    "-A": ("-A -t 10.0.0.101:80 -s wlc", saved("-A -t 10.0.0.101:80 -s wlc")),
    "--add-service": ("--add-service --tcp-service 10.0.0.101:80",
                      saved("-A -t 10.0.0.101:80 -s wlc")),
    "-E": (f"-E {SVC} -s wrr", saved("-A -t 10.0.0.100:80 -s wrr")),
    "--edit-service": (f"--edit-service {SVC} --scheduler lc", saved("-A -t 10.0.0.100:80 -s lc")),
    "-D": (f"-D {SVC}", gone("10.0.0.100")),
    "--delete-service": (f"--delete-service {SVC}", gone("10.0.0.100")),
    "-C": ("-C", gone("10.0.0.100")),
    "--clear": ("--clear", gone("10.0.0.100")),
    "-R": ("-R", saved("-A -u 10.0.0.102:53 -s rr"), "-A -u 10.0.0.102:53 -s rr\n"),
    "--restore": ("--restore", saved("-A -u 10.0.0.102:53 -s rr"), "-A -u 10.0.0.102:53 -s rr\n"),
    "-S": ("-S -n", prints("-a -t 10.0.0.100:80 -r 10.0.0.2:80 -m -w 1\n")),
    "--save": ("--save", prints("-A -t 10.0.0.100:http -s rr\n")),
    "-n": ("-L -n", prints("TCP  10.0.0.100:80 rr\n")),
    "--numeric": ("-L --numeric", prints("TCP  10.0.0.100:80 rr\n")),
    "-a": (f"-a {SVC} -r 10.0.0.3", saved("-a -t 10.0.0.100:80 -r 10.0.0.3:80 -g -w 1")),
    "--add-server": (f"--add-server {SVC} --real-server 10.0.0.3:8080 --masquerading",
                     saved("-r 10.0.0.3:8080 -m -w 1")),
    "-e": (f"-e {SVC} -r 10.0.0.2:80 -m -w 5", saved("-r 10.0.0.2:80 -m -w 5")),
    "--edit-server": (f"--edit-server {SVC} -r 10.0.0.2:80 -m --weight 7",
                      saved("-r 10.0.0.2:80 -m -w 7")),
    "-d": (f"-d {SVC} -r 10.0.0.2:80", gone("10.0.0.2")),
    "--delete-server": (f"--delete-server {SVC} -r 10.0.0.2:80", gone("10.0.0.2")),
    "-r": (f"-a {SVC} -r 10.0.0.4:80 -m", saved("-r 10.0.0.4:80 -m -w 1")),
    "--real-server": (f"-a {SVC} --real-server 10.0.0.4:80 -m", saved("-r 10.0.0.4:80 -m -w 1")),
    "-g": (f"-a {SVC} -r 10.0.0.4 -g", saved("-r 10.0.0.4:80 -g -w 1")),
    "--gatewaying": (f"-a {SVC} -r 10.0.0.4 --gatewaying", saved("-r 10.0.0.4:80 -g -w 1")),
    "-i": (f"-a {SVC} -r 10.0.0.4 -i", saved("-r 10.0.0.4:80 -i -w 1 --tun-type ipip")),
    "--ipip": (f"-a {SVC} -r 10.0.0.4 --ipip", saved("-r 10.0.0.4:80 -i -w 1 --tun-type ipip")),
    "-m": (f"-a {SVC} -r 10.0.0.4:81 -m", saved("-r 10.0.0.4:81 -m -w 1")),
    "--masquerading": (f"-a {SVC} -r 10.0.0.4:81 --masquerading", saved("-r 10.0.0.4:81 -m")),
    "-w": (f"-a {SVC} -r 10.0.0.4:80 -m -w 9", saved("-r 10.0.0.4:80 -m -w 9")),
    "--weight": (f"-a {SVC} -r 10.0.0.4:80 -m --weight 9", saved("-r 10.0.0.4:80 -m -w 9")),
    "-x": (f"-e {SVC} -r 10.0.0.2:80 -m -x 100", thresholds("10.0.0.2:80                  100        0 ")),
    "--u-threshold": (f"-e {SVC} -r 10.0.0.2:80 -m --u-threshold 100",
                      thresholds("10.0.0.2:80                  100        0 ")),
    "-y": (f"-e {SVC} -r 10.0.0.2:80 -m -x 100 -y 50",
           thresholds("10.0.0.2:80                  100        50 ")),
    "--l-threshold": (f"-e {SVC} -r 10.0.0.2:80 -m -x 100 --l-threshold 50",
                      thresholds("10.0.0.2:80                  100        50 ")),
    "-L": ("-L -n", prints("  -> 10.0.0.2:80                  Masq    1      0          0")),
    "-l": ("-l -n", prints("Prot LocalAddress:Port Scheduler Flags\n")),
    "--list": ("--list -n", prints("IP Virtual Server version 1.2.1 (size=4096)\n")),
    "-Z": ("-Z", prints("")),
    "--zero": (f"--zero {SVC}", prints("")),
    "--set": ("--set 100 20 30", saved("")),
    "--timeout": ("-L --timeout", prints("Timeout (tcp tcpfin udp): 900 120 300\n")),
    "-t": ("-A -t 10.0.0.101:443", saved("-A -t 10.0.0.101:443 -s wlc")),
    "--tcp-service": ("-A --tcp-service 10.0.0.101:443", saved("-A -t 10.0.0.101:443 -s wlc")),
    "-u": ("-A -u 10.0.0.101:53", saved("-A -u 10.0.0.101:53 -s wlc")),
    "--udp-service": ("-A --udp-service 10.0.0.101:53", saved("-A -u 10.0.0.101:53 -s wlc")),
    "--sctp-service": ("-A --sctp-service 10.0.0.101:9", refused(f"--sctp-service {NOT_YET}")),
    "-f": ("-A -f 1 -s rr", saved("-A -f 1 -s rr")),
    "--fwmark-service": ("-A --fwmark-service 1", prints("")),
    "-6": ("-A -f 1 -6", saved("-A -f 1 -6 -s wlc")),
    "--ipv6": ("-A -f 1 --ipv6 -s rr -p", saved("-A -f 1 -6 -s rr -p 300")),
    "-s": (f"-E {SVC} -s sh", saved("-A -t 10.0.0.100:80 -s sh")),
    "--scheduler": (f"-E {SVC} --scheduler mh", saved("-A -t 10.0.0.100:80 -s mh")),
    "-b": (f"-E {SVC} -s sh -b sh-port", saved("-s sh -b sh-port")),
    "--sched-flags": (f"-E {SVC} -s mh --sched-flags mh-port", saved("-s mh -b mh-port")),
    "-p": (f"-E {SVC} -p 60", saved("-A -t 10.0.0.100:80 -s rr -p 60")),
    "--persistent": (f"-E {SVC} --persistent", saved("-A -t 10.0.0.100:80 -s rr -p 300")),
    "-M": (f"-E {SVC} -p -M 255.255.255.0", saved("-p 300 -M 255.255.255.0")),
    "--netmask": (f"-E {SVC} -p --netmask 24", saved("-p 300 -M 255.255.255.0")),
    "--pe": (f"-E {SVC} -p --pe sip", refused(f"--pe {NOT_YET}")),
    "--tun-type": (f"-a {SVC} -r 10.0.0.4 -i --tun-type ipip",
                   saved("-r 10.0.0.4:80 -i -w 1 --tun-type ipip")),
    "--tun-port": (f"-a {SVC} -r 10.0.0.4 -i --tun-port 6080",
                   refused("Illegal 'tun-port' option with the 'ipip' tunnel type")),
    "--tun-nocsum": (f"-a {SVC} -r 10.0.0.4 -i --tun-nocsum",
                     refused("Illegal 'tun-nocsum' option with the 'ipip' tunnel type")),
    "--tun-csum": (f"-a {SVC} -r 10.0.0.4 -m --tun-csum",
                   refused("Tunnel options conflict with forward method")),
    "--tun-remcsum": (f"-a {SVC} -r 10.0.0.4 -i --tun-remcsum",
                      refused("Illegal 'tun-remcsum' option with the 'ipip' tunnel type")),
    "--tun-info": ("-L -n --tun-info", prints("Masq    n/a           1      0          0")),
    "-c": ("-L -n -c", prints("pro expire state       source             virtual")),
    "--connection": ("-L -n --connection -t 10.0.0.100:80",
                     refused("The option 'service-address' conflicts with the 'connection' option "
                             "in the 'list' command")),
    "--daemon": ("-L --daemon --stats", refused("options conflicts in the list command")),
    "--stats": ("-L -n --stats", prints("Conns   InPkts  OutPkts  InBytes OutBytes")),
    "--rate": ("-L -n --rate", prints("CPS    InPPS   OutPPS    InBPS   OutBPS")),
    "--thresholds": ("-L -n --thresholds", prints("Uthreshold Lthreshold")),
    "--persistent-conn": ("-L -n --persistent-conn", prints("Weight    PersistConn")),
    "--sort": ("-L -n --sort", prints("TCP  10.0.0.100:80 rr\n")),
    "--nosort": ("-L -n --nosort", prints("TCP  10.0.0.100:80 rr\n")),
    "--exact": ("-L -n --stats --exact", prints("Conns")),
    "-o": ("-A -u 10.0.0.101:53 -s rr -o", saved("-A -u 10.0.0.101:53 -s rr -o")),
    "--ops": ("-A -t 10.0.0.101:80 --ops",
              refused("One-Packet Scheduling is only for UDP virtual services")),
    # The sync daemon needs the kernel path (its sockets are on dpdkN): this fastvsd has none.
    "--start-daemon": ("--start-daemon master", refused("kernel path")),
    "--syncid": ("--start-daemon backup --syncid 5", refused("kernel path")),
    "--sync-maxlen": ("--start-daemon master --sync-maxlen 1400", refused("kernel path")),
    "--mcast-interface": ("--start-daemon master --mcast-interface dpdk0", refused("kernel path")),
    "--mcast-group": ("--start-daemon master --mcast-group 224.0.0.82", refused("kernel path")),
    "--mcast-port": ("--start-daemon master --mcast-port 8849", refused("kernel path")),
    "--mcast-ttl": ("--start-daemon master --mcast-ttl 2", refused("kernel path")),
    "--stop-daemon": ("--stop-daemon master", refused("master")),
    "-h": ("-h", prints("ipvsadm's commands (ipvsadm(8)):")),
    "--help": ("--help", prints("usage: fastvsadm")),
}


def man_page_options():
    """Every option token on the page's .B lines and \\fB-x, --long\\fR entries."""
    with gzip.open(MAN_PAGE, "rt") as f:
        text = f.read()
    found = []
    for line in text.splitlines():
        if not (line.startswith(".B ") or line.startswith(".BI ") or line.startswith("\\fB-")):
            continue
        plain = re.sub(r"\\f[IPRB]", " ", line)
        for m in re.finditer(r"(?<![\w-])(--?[A-Za-z0-9][-A-Za-z0-9]*)", plain):
            if m.group(1) not in found:
                found.append(m.group(1))
    return found


class ManPageWalk(RingDaemonTest):
    PREFIX = "fvsman"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = subprocess.run([FASTVSADM, "--socket", cls.sock, "ip", "addr", "add", "10.0.0.1/24",
                            "dev", "dpdk0"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr

    def adm(self, line, stdin=None):
        return subprocess.run([FASTVSADM, "--socket", self.sock, *line.split()], input=stdin,
                              capture_output=True, text=True, timeout=60)

    def reset(self):
        self.assertEqual(self.adm("-C").returncode, 0)
        self.assertEqual(self.adm("--set 900 120 300").returncode, 0)
        for line in BASE:
            r = self.adm(line)
            self.assertEqual(r.returncode, 0, f"{line}: {r.stderr}")

    def test_the_page_is_there_and_read(self):
        self.assertTrue(os.path.exists(MAN_PAGE),
                        f"{MAN_PAGE} is missing: install Debian's ipvsadm (scripts/install-deps)")
        opts = man_page_options()
        # The page's own sections, so that a change in its markup cannot empty the walk.
        for o in ("-A", "--add-service", "-g", "--masquerading", "--tun-remcsum", "--mcast-ttl"):
            self.assertIn(o, opts)
        self.assertGreater(len(opts), 80)

    def test_every_option_of_the_page(self):
        if not os.path.exists(MAN_PAGE):
            self.fail(f"{MAN_PAGE} is missing: install Debian's ipvsadm (scripts/install-deps)")
        opts = man_page_options()
        self.assertEqual([o for o in opts if o not in WALK], [],
                         "options of ipvsadm(8) with no line in WALK")
        for opt in opts:
            line, (kind, want), *stdin = WALK[opt]
            with self.subTest(option=opt, line=line):
                self.reset()
                r = self.adm(line, stdin[0] if stdin else None)
                self.assertNotIn("unknown option", r.stderr)
                if kind == "refused":
                    self.assertNotEqual(r.returncode, 0, r.stdout)
                    self.assertTrue(r.stderr.startswith("fastvsadm: ") and
                                    r.stderr.count("\n") == 1, r.stderr)
                    self.assertIn(want, r.stderr)
                    continue
                self.assertEqual(r.returncode, 0, r.stderr)
                if kind == "prints":
                    self.assertIn(want, r.stdout)
                elif kind == "thresholds":
                    self.assertIn(want, self.adm("-L -n --thresholds").stdout)
                else:
                    table = self.adm("-S -n").stdout
                    if kind == "saved":
                        self.assertIn(want, table)
                    else:
                        self.assertNotIn(want, table)
        self.reset()
        # --set's effect, which -S does not show.
        self.assertEqual(self.adm("--set 100 20 30").returncode, 0)
        self.assertEqual(self.adm("-L --timeout").stdout, "Timeout (tcp tcpfin udp): 100 20 30\n")

    def test_generic_scheduler_flags_round_trip(self):
        # ipvsadm's -S writes flag-N for schedulers other than sh and mh; -R takes them back.
        self.reset()
        self.assertEqual(self.adm(f"-E {SVC} -s rr -b flag-1,flag-3").returncode, 0)
        self.assertIn("TCP  10.0.0.100:80 rr (flag-1,flag-3)\n", self.adm("-L -n").stdout)
        saved = self.adm("-S -n").stdout
        self.assertIn("-A -t 10.0.0.100:80 -s rr -b flag-1,flag-3\n", saved)
        self.assertEqual(self.adm("-C").returncode, 0)
        r = self.adm("-R", saved)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.adm("-S -n").stdout, saved)

    def test_version(self):
        r = self.adm("-v")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^fastvsadm v\d+\.\d+\.\d+ \(ipvsadm v1\.31's commands, "
                                   r"IPVS v1\.2\.1's listings\)\n$")
        self.assertEqual(self.adm("--version").stdout, r.stdout)

    def test_host_names_as_ipvsadm_looks_them_up(self):
        # fastvsadm in a mount namespace whose /etc/hosts names the test's addresses: the lookup
        # is glibc's, as ipvsadm's gethostbyname, and fastvsd gets the addresses.
        with tempfile.TemporaryDirectory(prefix="fvsman-hosts-") as d:
            hosts = os.path.join(d, "hosts")
            with open(hosts, "w") as f:
                f.write("127.0.0.1 localhost\n10.0.0.110 vip-www\n10.0.0.12 web1 web1.lab\n")
            self.reset()

            def adm_ns(line, stdin=None):
                return subprocess.run(
                    ["unshare", "--mount", "sh", "-c",
                     f'mount --bind "$0" /etc/hosts && exec "$@"', hosts, FASTVSADM,
                     "--socket", self.sock, *line.split()],
                    input=stdin, capture_output=True, text=True, timeout=60)

            for line in ("-A -t vip-www:http -s rr", "-a -t vip-www:80 -r web1.lab:8080 -m",
                         "-a -tvip-www:80 -rweb1 -g"):
                r = adm_ns(line)
                self.assertEqual(r.returncode, 0, f"{line}: {r.stderr}")
            table = self.adm("-S -n").stdout
            self.assertIn("-A -t 10.0.0.110:80 -s rr\n", table)
            self.assertIn("-a -t 10.0.0.110:80 -r 10.0.0.12:8080 -m -w 1\n", table)
            self.assertIn("-a -t 10.0.0.110:80 -r 10.0.0.12:80 -g -w 1\n", table)
            r = adm_ns("-a -t vip-www:80 -r nosuchhost.invalid -m")
            self.assertEqual((r.returncode, r.stderr),
                             (2, "fastvsadm: real server 'nosuchhost.invalid' is no host name "
                                 "with an IPv4 address (nor a numeric IP address)\n"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
