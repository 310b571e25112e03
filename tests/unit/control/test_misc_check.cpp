// MISC_CHECK runs are contained (control/health/misc_check.cpp), with real programs: what a
// program leaves behind (a background child, a setsid'd process and its child) is gone when its
// result arrives, after it exited or when it timed out; its output reaches no descriptor of
// fastvsd's unless --misc-check-output asks, and then a bounded, escaped excerpt only; and the
// process's other children are its own to reap.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "control/health/probe.h"

namespace fastvs {
namespace {

using Clock = std::chrono::steady_clock;

class MiscCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fvs-misc-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    // Whatever a failing test left running goes now.
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      if (e.path().extension() != ".pid") continue;
      const std::optional<pid_t> pid = read_pid(e.path());
      if (pid && ours(*pid)) kill(*pid, SIGKILL);
    }
    std::filesystem::remove_all(dir_);
  }

  // A /bin/sh script in the test's directory; $D is the directory.
  std::string script(const std::string& name, const std::string& body) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << "D='" << dir_ << "'\n" << body;
    return path;
  }

  CheckSpec spec(const std::string& path, double timeout = 20) {
    CheckSpec s;
    s.kind = CheckKind::Misc;
    s.misc_argv = {"/bin/sh", path};
    s.misc_path = "/bin/sh " + path;
    s.misc_timeout = timeout;
    s.uid = getuid();  // as the test runs: no change of user
    s.gid = getgid();
    return s;
  }

  // Runs one check to its end (30 s at most).
  CheckResult run(Prober& prober, const CheckSpec& s) {
    std::optional<CheckResult> got;
    prober.start(s, IpAddr::v4(0x7f000001), 80, [&](const CheckResult& r) { got = r; });
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (!got && Clock::now() < deadline) prober.poll(50);
    EXPECT_TRUE(got.has_value()) << "no result in 30 s";
    return got.value_or(CheckResult{false, "no result", -1});
  }

  // Polls (5 s at most) until `name` holds a pid.
  std::optional<pid_t> wait_pid(const std::string& name) {
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (Clock::now() < deadline) {
      if (const std::optional<pid_t> pid = read_pid(dir_ + "/" + name)) return pid;
      usleep(10000);
    }
    return std::nullopt;
  }

  static std::optional<pid_t> read_pid(const std::filesystem::path& file) {
    std::ifstream f(file);
    long pid = 0;
    if (!(f >> pid) || pid <= 1) return std::nullopt;
    return static_cast<pid_t>(pid);
  }

  // A process the scripts started (not another that took its pid since): its command line
  // names the test's directory, or it is `sleep 300`.
  bool ours(pid_t pid) const {
    std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline");
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string cmd = ss.str();
    return cmd.find(dir_) != std::string::npos || cmd == std::string("sleep") + '\0' + "300" + '\0';
  }

  // Whether the process the pid file names still exists (a zombie counts: nobody reaped it).
  bool exists(const std::string& name) {
    const std::optional<pid_t> pid = read_pid(dir_ + "/" + name);
    EXPECT_TRUE(pid.has_value()) << name << ": the script did not write it";
    return pid && kill(*pid, 0) == 0;
  }

  std::string dir_;
};

// The standard output and error of this process, into a file while alive.
class CaptureStdio {
 public:
  explicit CaptureStdio(const std::string& path) {
    fflush(stdout);
    fflush(stderr);
    fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    saved_[0] = dup(1);
    saved_[1] = dup(2);
    dup2(fd_, 1);
    dup2(fd_, 2);
  }
  ~CaptureStdio() {
    dup2(saved_[0], 1);
    dup2(saved_[1], 2);
    close(saved_[0]);
    close(saved_[1]);
    close(fd_);
  }

 private:
  int fd_;
  int saved_[2];
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The program's background child: keepalived would leave it running; here the run ends with it.
TEST_F(MiscCheckTest, ABackgroundChildIsKilledWhenTheProgramExits) {
  const std::string prog = script("bg.sh",
                                  "sh -c 'echo $$ > \"$0\"; exec sleep 300' \"$D/child.pid\" &\n"
                                  "while [ ! -s \"$D/child.pid\" ]; do sleep 0.01; done\n"
                                  "exit 0\n");
  Prober prober;
  const CheckResult r = run(prober, spec(prog));
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_FALSE(exists("child.pid")) << "the background child outlived the run";
}

// setsid takes a process out of the program's session and process group: a kill of the group
// misses it and its own child.
TEST_F(MiscCheckTest, ASetsidDescendantAndItsChildAreKilledWhenTheProgramExits) {
  const std::string prog =
      script("setsid.sh",
             "setsid sh -c 'sleep 300 & echo $! > \"$0.child.pid\"; echo $$ > \"$0\"; wait' "
             "\"$D/setsid.pid\" &\n"
             "while [ ! -s \"$D/setsid.pid\" ]; do sleep 0.01; done\n"
             "exit 0\n");
  Prober prober;
  const CheckResult r = run(prober, spec(prog));
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_FALSE(exists("setsid.pid")) << "the setsid'd process outlived the run";
  EXPECT_FALSE(exists("setsid.pid.child.pid")) << "the setsid'd process's child outlived the run";
}

TEST_F(MiscCheckTest, TheTimeoutKillsSetsidDescendantsToo) {
  const std::string prog =
      script("hang.sh",
             "setsid sh -c 'sleep 300 & echo $! > \"$0.child.pid\"; echo $$ > \"$0\"; wait' "
             "\"$D/setsid.pid\" &\n"
             "sh -c 'echo $$ > \"$0\"; exec sleep 300' \"$D/child.pid\" &\n"
             "echo $$ > \"$D/program.pid\"\n"
             "sleep 300\n");
  Prober prober;
  const auto start = Clock::now();
  const CheckResult r = run(prober, spec(prog, 1));
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("timed out after 1 s"), std::string::npos) << r.reason;
  EXPECT_LT(took, 4) << "the timeout came late";
  EXPECT_FALSE(exists("program.pid")) << "the program outlived its timeout";
  EXPECT_FALSE(exists("child.pid")) << "its child outlived the timeout";
  EXPECT_FALSE(exists("setsid.pid")) << "the setsid'd process outlived the timeout";
  EXPECT_FALSE(exists("setsid.pid.child.pid")) << "the setsid'd process's child outlived it";
}

// Stopping the checks (fastvsd's stop, a Prober destroyed) ends a running program's whole run.
TEST_F(MiscCheckTest, CancellingKillsTheRunWithWhatItStarted) {
  const std::string prog =
      script("long.sh",
             "setsid sh -c 'echo $$ > \"$0\"; exec sleep 300' \"$D/setsid.pid\" &\n"
             "echo $$ > \"$D/program.pid\"\n"
             "sleep 300\n");
  Prober prober;
  bool done = false;
  prober.start(spec(prog), IpAddr::v4(0x7f000001), 80, [&](const CheckResult&) { done = true; });
  ASSERT_TRUE(wait_pid("setsid.pid"));
  ASSERT_TRUE(wait_pid("program.pid"));
  prober.cancel_all();
  EXPECT_FALSE(done);
  EXPECT_FALSE(exists("program.pid")) << "the program outlived cancel_all";
  EXPECT_FALSE(exists("setsid.pid")) << "the setsid'd process outlived cancel_all";
}

constexpr const char* kFlood =
    "printf 'line1\\nq\"\\\\\\t\\001'\n"
    "head -c 2000000 /dev/zero | tr '\\0' x >&2\n"
    "exit 3\n";

// keepalived sends a program's output to /dev/null; fastvsd's log is its standard error.
TEST_F(MiscCheckTest, OutputGoesNowhereByDefault) {
  const std::string prog = script("flood.sh", kFlood);
  Prober prober;
  CheckResult r;
  {
    CaptureStdio capture(dir_ + "/stdio");
    r = run(prober, spec(prog));
  }
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("exited with status 3"), std::string::npos) << r.reason;
  EXPECT_EQ(r.output, "");
  EXPECT_EQ(std::filesystem::file_size(dir_ + "/stdio"), 0u)
      << slurp(dir_ + "/stdio").substr(0, 200);
}

// With --misc-check-output 24: the first 24 bytes escaped, the count of all; the rest is drained
// (a program that writes more than a pipe holds still exits) and dropped.
TEST_F(MiscCheckTest, WithTheOptionABoundedEscapedExcerpt) {
  const std::string prog = script("flood.sh", kFlood);
  Prober prober(24);
  CheckResult r;
  {
    CaptureStdio capture(dir_ + "/stdio");
    r = run(prober, spec(prog, 10));
  }
  EXPECT_NE(r.reason.find("exited with status 3"), std::string::npos) << r.reason;
  EXPECT_EQ(r.output, "wrote 2000011 bytes: \"line1\\nq\\\"\\\\\\t\\x01xxxxxxxxxxxxx\"...");
  EXPECT_EQ(std::filesystem::file_size(dir_ + "/stdio"), 0u);
}

TEST_F(MiscCheckTest, AShortOutputIsWhole) {
  const std::string prog = script("short.sh", "echo ok; echo 'to stderr' >&2\n");
  Prober prober(4096);
  const CheckResult r = run(prober, spec(prog));
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.output, "wrote 13 bytes: \"ok\\nto stderr\\n\"");
  Prober quiet(4096);
  const CheckResult silent = run(quiet, spec(script("silent.sh", "exit 0\n")));
  EXPECT_EQ(silent.output, "") << "nothing written, nothing to log";
}

// The runs reap only what they started: children of this process's own (the kernel path's
// `ip`, run by popen on the control thread), one that ended before the runs and one that ends
// during them, are still there for pclose; and this process does not become a subreaper.
TEST_F(MiscCheckTest, OtherChildrenOfTheProcessAreLeftAlone) {
  FILE* before = popen("exit 7", "r");
  ASSERT_NE(before, nullptr);
  const std::string prog = script("bg.sh",
                                  "sh -c 'echo $$ > \"$0\"; exec sleep 300' \"$D/child$1.pid\" &\n"
                                  "sleep 0.5\n");
  Prober prober;
  int finished = 0;
  for (int i = 0; i < 3; ++i) {
    CheckSpec s = spec(prog);
    s.misc_argv.push_back(std::to_string(i));
    prober.start(s, IpAddr::v4(0x7f000001), 80, [&](const CheckResult&) { ++finished; });
  }
  FILE* during = popen("sleep 0.2; exit 8", "r");
  ASSERT_NE(during, nullptr);
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (finished < 3 && Clock::now() < deadline) prober.poll(20);
  EXPECT_EQ(finished, 3);
  const int rc_before = pclose(before);
  EXPECT_TRUE(WIFEXITED(rc_before) && WEXITSTATUS(rc_before) == 7) << "pclose: " << rc_before;
  const int rc_during = pclose(during);
  EXPECT_TRUE(WIFEXITED(rc_during) && WEXITSTATUS(rc_during) == 8) << "pclose: " << rc_during;
  int subreaper = -1;
  prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0);
  EXPECT_EQ(subreaper, 0);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(exists("child" + std::to_string(i) + ".pid"));
}

TEST_F(MiscCheckTest, AProgramKilledByASignalFails) {
  Prober prober;
  const CheckResult r = run(prober, spec(script("selfkill.sh", "kill -TERM $$\n")));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("killed by signal 15"), std::string::npos) << r.reason;
}

TEST_F(MiscCheckTest, AProgramThatCannotRunFailsTheCheck) {
  Prober prober;
  CheckSpec s = spec(dir_ + "/nonexistent");
  s.misc_argv = {dir_ + "/nonexistent"};
  s.misc_path = s.misc_argv[0];
  const CheckResult r = run(prober, s);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("cannot run"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("No such file"), std::string::npos) << r.reason;
}

}  // namespace
}  // namespace fastvs
