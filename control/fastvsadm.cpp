// fastvsadm: ipvsadm's command line for fastvsd. This milestone checks the command against the
// grammar and reports that the live socket does not exist yet (the next issue brings it).
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "common/command.h"

int main(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  std::string socket_path = "/run/fastvs/fastvsd.sock";
  if (const char* env = std::getenv("FASTVS_SOCKET")) socket_path = env;
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    if (words[i] == "--socket") {
      socket_path = words[i + 1];
      words.erase(words.begin() + static_cast<long>(i), words.begin() + static_cast<long>(i) + 2);
      break;
    }
  }
  if (words.empty() || words[0] == "-h" || words[0] == "--help") {
    fmt::print(
        "usage: fastvsadm [--socket PATH] COMMAND (ipvsadm's commands; ip addr|route|neigh)\n");
    return words.empty() ? 2 : 0;
  }
  const fastvs::ParseResult pr = fastvs::parse_command(words);
  if (!pr.ok) {
    fmt::print(stderr, "fastvsadm: {}\n", pr.error);
    return 2;
  }
  struct stat st;
  if (stat(socket_path.c_str(), &st) != 0) {
    fmt::print(stderr, "fastvsadm: fastvsd is not running (no socket at {})\n", socket_path);
    return 1;
  }
  fmt::print(stderr, "fastvsadm: live control is not implemented yet\n");
  return 1;
}
