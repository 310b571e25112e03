#!/usr/bin/python3
"""The man pages name every option the programs' --help prints: fastvsd(8) fastvsd's, fastvsadm(8)
fastvsadm's. The options are read from whatever --help prints (words that start with - or --),
so a new option in the program without a word in its page fails here.

usage: test_man.py PROGRAM PAGE [PROGRAM PAGE ...]   (PAGE: the troff that scdoc made)"""
import os
import re
import subprocess
import sys
import unittest

ARGS = sys.argv[1:]
sys.argv[1:] = []
PAIRS = list(zip(ARGS[0::2], ARGS[1::2]))

# An option word: - or -- and a letter or digit, at the start of a word or after one of the
# characters usage text puts before options ("[-n]", "-A|-E", "(-p)", "`fastvsadm -Z`").
OPTION = re.compile(r"(?:^|(?<=[\s\[(|,`'\"]))(--?[A-Za-z0-9][A-Za-z0-9_-]*)", re.M)


def help_options(text):
    return sorted(set(OPTION.findall(text)))


def troff_text(troff):
    """The words of a troff page: requests' names dropped, font changes and escapes undone."""
    out = []
    for line in troff.splitlines():
        if line.startswith((".\\\"", "'\\\"")):
            continue  # comment
        if line.startswith("."):
            line = line.split(" ", 1)[1] if " " in line else ""
        line = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", line)
        line = line.replace("\\-", "-").replace("\\&", "").replace("\\(aq", "'")
        line = line.replace("\\e", "\\").replace("\\(dq", '"')
        out.append(line)
    return "\n".join(out)


def names(page_text, option):
    return re.search(r"(?<![\w-])" + re.escape(option) + r"(?![\w-])", page_text) is not None


class ManPages(unittest.TestCase):
    def test_pairs_given(self):
        self.assertTrue(PAIRS and len(ARGS) % 2 == 0, "usage: test_man.py PROGRAM PAGE ...")

    def test_extractor(self):
        # The option reader itself, on the shapes usage text takes.
        self.assertEqual(help_options("  -A|-E -t|-u VIP:PORT [-s SCHEDULER] [--sched-flags=F]\n"
                                      "persistence (-p) and `fastvsadm -Z`, port-id 0-1 --\n"),
                         ["--sched-flags", "-A", "-E", "-Z", "-p", "-s", "-t", "-u"])
        text = troff_text(".SH OPTIONS\n\\fB\\-\\-socket\\fR \\fIpath\\fR, \\fB-n\\fR\n")
        self.assertTrue(names(text, "--socket") and names(text, "-n"))
        self.assertFalse(names(text, "--sock") or names(text, "-s"))

    def test_every_option_of_help_in_the_page(self):
        for program, page in PAIRS:
            with self.subTest(program=os.path.basename(program)):
                if not os.path.exists(page):
                    self.skipTest(f"{page} not built (scdoc missing, or -Dman=disabled)")
                r = subprocess.run([program, "--help"], capture_output=True, text=True,
                                   timeout=20)
                self.assertEqual(r.returncode, 0, r.stderr)
                options = help_options(r.stdout)
                # A help text with fewer is no help text: the reader would be broken.
                self.assertGreaterEqual(len(options), 10, r.stdout)
                with open(page) as f:
                    text = troff_text(f.read())
                missing = [o for o in options if not names(text, o)]
                self.assertEqual(missing, [], f"{page} does not name what --help prints")

    def test_sections(self):
        for program, page in PAIRS:
            with self.subTest(page=os.path.basename(page)):
                if not os.path.exists(page):
                    self.skipTest(f"{page} not built (scdoc missing, or -Dman=disabled)")
                with open(page) as f:
                    troff = f.read()
                name = os.path.basename(program)
                self.assertRegex(troff, r'(?m)^\.TH "?' + name + r'"? "?8"?')
                for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXAMPLES",
                                "EXIT STATUS", "ENVIRONMENT", "FILES", "SEE ALSO"):
                    self.assertRegex(troff, r'(?m)^\.SH "?' + section + '"?$')
                text = troff_text(troff)
                for path in ("/run/fastvs/fastvsd.sock", "/etc/fastvs/fastvs.conf",
                             "/etc/default/fastvsd", "FASTVS_SOCKET", "ipvsadm(8)",
                             "keepalived.conf(5)"):
                    self.assertIn(path, text)
                self.assertNotRegex(text, r"@[A-Z]+@")  # every install path filled in


if __name__ == "__main__":
    unittest.main(verbosity=2)
