"""Hostile and careless clients for tests and benchmarks of fastvsd's control side
(tests/process/test_hostile.py, bench/control/attack.py), and a large table to load."""
import select
import socket
import threading
import time


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def table(dests, per_service=100):
    """ipvsadm -S lines: `dests` NAT destinations, `per_service` to a service."""
    lines = []
    for s in range((dests + per_service - 1) // per_service):
        vip = f"172.16.{s // 256}.{s % 256}:80"
        lines.append(f"-A -t {vip} -s wrr")
        for d in range(min(per_service, dests - s * per_service)):
            n = s * per_service + d + 1
            lines.append(f"-a -t {vip} -r 10.{n // 65536}.{(n // 256) % 256}.{n % 256}:8080 "
                         f"-m -w {d % 7 + 1}")
    return "\n".join(lines) + "\n"


class Attack:
    """The hostile clients, kept at full strength by one thread: on /metrics (metrics_addr, a
    (host, port)) `nonreaders` that ask for the body and never read it, `slowloris` that send a
    byte a second and `idle` that say nothing; on the CLI socket (cli_path) `slowloris` and
    `idle` the same way. Each one the server closes is opened again at once."""

    def __init__(self, metrics_addr, cli_path, nonreaders=16, slowloris=64, idle=1000):
        self.metrics = metrics_addr
        self.cli = cli_path
        self.counts = (("http-nonreader", nonreaders), ("http-slow", slowloris),
                       ("http-idle", idle), ("cli-slow", slowloris), ("cli-idle", idle))
        self.stop_ev = threading.Event()
        self.socks = {}  # fd -> (socket, kind)
        self.poll = select.poll()
        self.reopened = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open(self, kind):
        try:
            if kind.startswith("cli"):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.setblocking(False)
                s.connect(self.cli)
            else:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                try:
                    s.connect(self.metrics)
                except BlockingIOError:
                    pass
        except OSError:
            s.close()
            return False
        self.socks[s.fileno()] = (s, kind)
        self.poll.register(s.fileno(), select.POLLRDHUP | select.POLLHUP | select.POLLERR)
        if kind == "http-nonreader":
            self.pending_get.append(s)
        return True

    def start(self):
        self.pending_get = []
        for kind, n in self.counts:
            for _ in range(n):
                self.open(kind)
        self.thread.start()

    def run(self):
        next_byte = time.monotonic()
        while not self.stop_ev.is_set():
            for s in list(self.pending_get):
                try:
                    s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                    self.pending_get.remove(s)
                except BlockingIOError:
                    pass
                except OSError:
                    self.pending_get.remove(s)
            for fd, ev in self.poll.poll(100):
                s, kind = self.socks.pop(fd, (None, None))
                if s is None:
                    continue
                self.poll.unregister(fd)
                if s in self.pending_get:
                    self.pending_get.remove(s)
                s.close()
                self.reopened += 1
                self.open(kind)
            if time.monotonic() >= next_byte:
                next_byte += 1.0
                for s, kind in list(self.socks.values()):
                    if kind.endswith("slow"):
                        try:
                            s.send(b"G" if kind.startswith("http") else b"F")
                        except OSError:
                            pass

    def asked(self):
        """Every non-reader has sent its request."""
        return not self.pending_get

    def stop(self):
        self.stop_ev.set()
        self.thread.join(10)
        for s, _ in self.socks.values():
            s.close()
        self.socks.clear()
