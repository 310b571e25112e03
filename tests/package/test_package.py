#!/usr/bin/python3
"""The Debian package (debian/): built with dpkg-buildpackage from a clean copy of the source (the
files git knows, in a temporary directory: the source tree gets no build litter), installed with
dpkg -i, checked (the programs run, man finds both pages, bash-completion loads the completion,
the service is not enabled, fastvsd starts with the installed /etc/fastvs/fastvs.conf and it
configures nothing), removed (nothing the package listed remains but its conffiles), purged
(nothing at all). Needs root; in CI (CI set) it fails rather than skips without it. It never
touches a fastvs package that was installed before it ran.

usage: test_package.py SOURCE_DIR"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

SOURCE = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else
                         os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "process"))
from fvtest import Fastvsd, wait_for  # noqa: E402

BUILD_TIMEOUT = 900  # measured: ~50 s on the 2-core machine


def run(cmd, timeout=120, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def read(path):
    with open(path) as f:
        return f.read()


def status():
    r = run(["dpkg-query", "-W", "-f=${Status}", "fastvs"])
    return r.stdout if r.returncode == 0 else "not-installed"


def source_files(src):
    """The source as git has it: tracked and untracked-but-not-ignored files that exist (so a
    file not yet committed is built too, a deleted one is not)."""
    r = run(["git", "-C", src, "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    if r.returncode != 0:
        raise AssertionError(f"git ls-files in {src}: {r.stderr}")
    return sorted({f for f in r.stdout.split("\0") if f and os.path.isfile(os.path.join(src, f))})


class Package(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            msg = "the package test installs a package: run as root"
            if os.environ.get("CI"):
                self.fail(msg)
            self.skipTest(msg)
        for tool in ("dpkg-buildpackage", "dh", "scdoc", "man", "git"):
            if not shutil.which(tool):
                self.fail(f"{tool} missing: scripts/install-deps installs it")
        # Someone's own fastvs installation is not ours to replace or remove.
        self.assertEqual(status(), "not-installed",
                         "a fastvs package is installed already: not touching it")
        self.tmp = tempfile.mkdtemp(prefix="fvs-package-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.addCleanup(self.purge_if_left)

    def purge_if_left(self):
        if status() != "not-installed":
            run(["dpkg", "--purge", "fastvs"])

    def build(self):
        src = os.path.join(self.tmp, "fastvs")
        for f in source_files(SOURCE):
            dst = os.path.join(src, f)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(os.path.join(SOURCE, f), dst)
        env = {k: v for k, v in os.environ.items()
               if k not in ("MAKEFLAGS", "MFLAGS", "MALLOC_PERTURB_", "DESTDIR")}
        env["DEB_BUILD_OPTIONS"] = f"nocheck parallel={os.cpu_count() or 1}"
        start = time.monotonic()
        r = run(["dpkg-buildpackage", "-us", "-uc", "-b"], timeout=BUILD_TIMEOUT, cwd=src,
                env=env)
        print(f"dpkg-buildpackage: {time.monotonic() - start:.0f} s", file=sys.stderr)
        self.assertEqual(r.returncode, 0, (r.stdout + r.stderr)[-6000:])
        version = run(["dpkg-parsechangelog", "-S", "Version"], cwd=src).stdout.strip()
        # The package's version is the project's (meson.build).
        meson_version = re.search(r"version\s*:\s*'([^']+)'",
                                  read(os.path.join(SOURCE, "meson.build"))).group(1)
        self.assertRegex(version, "^" + re.escape(meson_version) + r"(-\d+)?$")
        deb = os.path.join(self.tmp, f"fastvs_{version}_amd64.deb")
        self.assertTrue(os.path.exists(deb), os.listdir(self.tmp))
        return deb

    def test_build_install_remove_purge(self):
        deb = self.build()
        r = run(["dpkg", "-i", deb], timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(status(), "install ok installed")
        listed = [p for p in run(["dpkg-query", "-L", "fastvs"]).stdout.splitlines()
                  if p.startswith("/") and p != "/."]
        conffiles = [line.split()[0] for line in
                     run(["dpkg-query", "-W", "-f=${Conffiles}", "fastvs"]).stdout.splitlines()
                     if line.strip()]
        self.assertEqual(sorted(conffiles), ["/etc/default/fastvsd", "/etc/fastvs/fastvs.conf"])

        # The programs run; man finds both pages; the completion is where bash-completion
        # loads it from, and it loads.
        r = run(["/usr/bin/fastvsd", "--help"], timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--config", r.stdout)
        self.assertEqual(run(["/usr/bin/fastvsadm", "--help"], timeout=20).returncode, 0)
        for page in ("fastvsd", "fastvsadm"):
            r = run(["man", "-w", page], timeout=30)
            self.assertEqual(r.returncode, 0, f"man -w {page}: {r.stderr}")
            self.assertEqual(r.stdout.strip(), f"/usr/share/man/man8/{page}.8.gz")
        completion = "/usr/share/bash-completion/completions/fastvsadm"
        self.assertIn(completion, listed)
        r = run(["bash", "--norc", "--noprofile", "-c",
                 "source /usr/share/bash-completion/bash_completion && "
                 "_completion_loader fastvsadm; complete -p fastvsadm"], timeout=30)
        self.assertEqual(r.stdout.strip(), "complete -F _fastvsadm fastvsadm", r.stderr)
        for path in ("/lib/systemd/system/fastvsd.service", "/usr/libexec/fastvs/hugepages"):
            self.assertIn(path, listed)
        unit = read("/lib/systemd/system/fastvsd.service")
        self.assertIn("ExecStart=/usr/bin/fastvsd $FASTVS_EAL_ARGS -- --config "
                      "/etc/fastvs/fastvs.conf", unit)
        self.assertIn("ExecStartPre=/usr/libexec/fastvs/hugepages", unit)
        # Not enabled (it needs hugepages and NICs first).
        self.assertFalse(os.path.lexists(
            "/etc/systemd/system/multi-user.target.wants/fastvsd.service"),
            "fastvsd.service enabled by the installation")
        self.check_installed_config()

        # Removed: the conffiles stay, nothing else the package listed (a directory stays only
        # when another package owns it too).
        r = run(["dpkg", "-r", "fastvs"], timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(status(), "deinstall ok config-files")
        keep = set(conffiles) | {os.path.dirname(c) for c in conffiles}
        left = [p for p in listed if os.path.lexists(p) and p not in keep
                and not self.owned_by_another(p)]
        self.assertEqual(left, [], "left behind by dpkg -r")
        for c in conffiles:
            self.assertTrue(os.path.exists(c), f"conffile {c} gone after dpkg -r")

        # Purged: nothing.
        r = run(["dpkg", "-P", "fastvs"], timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(status(), "not-installed")
        left = [p for p in listed if os.path.lexists(p) and not self.owned_by_another(p)]
        self.assertEqual(left, [], "left behind by dpkg -P")

    def owned_by_another(self, path):
        """A directory that another package also ships (/usr/bin, /etc/default, ...), or the
        system's own alias of one (/lib -> usr/lib with merged /usr)."""
        if not os.path.isdir(path):
            return False
        if os.path.islink(path):
            return True
        r = run(["dpkg-query", "-S", path])
        owners = {o.strip() for line in r.stdout.splitlines()
                  for o in line.rsplit(":", 1)[0].split(",")}
        return r.returncode == 0 and bool(owners - {"fastvs"})

    def check_installed_config(self):
        """The installed fastvsd starts with the installed /etc/fastvs/fastvs.conf (on net_ring
        ports, without hugepages), and that configuration holds nothing."""
        work = os.path.join(self.tmp, "run")
        os.makedirs(work)
        sock = os.path.join(work, "fastvsd.sock")
        os.environ["FASTVSD"] = "/usr/bin/fastvsd"
        d = Fastvsd(["-l", "0-1", "--no-huge", "-m", "256", "--no-shconf", "--vdev", "net_ring0",
                     "--vdev", "net_ring1"],
                    ["--config", "/etc/fastvs/fastvs.conf", "--socket", sock,
                     "--idle-sleep-us", "500", "--conn-capacity", "4096"], work, "fvspkg")
        try:
            d.wait_started()
            wait_for(lambda: os.path.exists(sock), 10, "the CLI socket")
            for args, want in ((["-S", "-n"], ""), (["ip", "route"], "")):
                r = run(["/usr/bin/fastvsadm", "--socket", sock, *args], timeout=20)
                self.assertEqual((r.returncode, r.stdout), (0, want), r.stderr)
            r = run(["/usr/bin/fastvsadm", "--socket", sock, "ip", "addr"], timeout=20)
            self.assertNotIn("inet ", r.stdout)
        finally:
            rc = d.stop()
            out = d.output()
            d.close()
        self.assertEqual(rc, 0, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
