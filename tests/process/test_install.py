#!/usr/bin/python3
"""`meson install` puts the binaries, the systemd unit (hugepages, then fastvsd with
/etc/fastvs/fastvs.conf), the hugepages helper, the example configuration, the man pages and the
bash completion in place, and the installed fastvsd runs."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"


class Install(unittest.TestCase):
    def test_meson_install(self):
        dest = tempfile.mkdtemp(prefix="fvs-install-")
        try:
            r = subprocess.run(["meson", "install", "-C", BUILD, "--destdir", dest, "--no-rebuild",
                                "--quiet"], capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            prefix = dest + "/usr/local"
            for path in ("bin/fastvsd", "bin/fastvsadm", "libexec/fastvs/hugepages"):
                self.assertTrue(os.access(f"{prefix}/{path}", os.X_OK), path)
            unit = open(f"{prefix}/lib/systemd/system/fastvsd.service").read()
            self.assertIn("ExecStartPre=/usr/local/libexec/fastvs/hugepages $FASTVS_HUGEPAGES", unit)
            self.assertIn("ExecStart=/usr/local/bin/fastvsd $FASTVS_EAL_ARGS -- --config "
                          "/etc/fastvs/fastvs.conf", unit)
            self.assertNotRegex(unit, r"@[A-Z]+@")
            example = f"{prefix}/share/doc/fastvs/fastvs.conf.example"
            self.assertTrue(os.path.exists(example))
            self.assertTrue(os.path.exists(f"{prefix}/share/doc/fastvs/default/fastvsd"))
            # The man pages, when this build made them (-Dman, scdoc found).
            for page in ("fastvsd.8", "fastvsadm.8"):
                if os.path.exists(f"{BUILD}/docs/man/{page}"):
                    installed = f"{prefix}/share/man/man8/{page}"
                    self.assertTrue(os.path.exists(installed), installed)
            # fastvsadm's bash completion, where bash-completion looks under this prefix.
            comp = f"{prefix}/share/bash-completion/completions/fastvsadm"
            with open(comp) as f:
                self.assertIn("complete -F _fastvsadm fastvsadm", f.read())
            if os.path.exists(f"{BUILD}/docs/man/fastvsd.8"):
                # The paths in fastvsd(8) are this install's.
                with open(f"{prefix}/share/man/man8/fastvsd.8") as f:
                    self.assertIn("/usr/local/libexec/fastvs/hugepages", f.read())
            out = subprocess.run([f"{prefix}/bin/fastvsd", "--help"], capture_output=True,
                                 text=True, timeout=20)
            self.assertEqual(out.returncode, 0)
            self.assertIn("--config", out.stdout)
            # The example configuration is valid for a director with two ports.
            adm = subprocess.run([f"{prefix}/bin/fastvsadm", "--help"], capture_output=True,
                                 text=True, timeout=20)
            self.assertEqual(adm.returncode, 0)
        finally:
            shutil.rmtree(dest, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
