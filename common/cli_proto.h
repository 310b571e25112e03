// The wire format between fastvsadm and fastvsd's CLI socket (control/cli_server.h), one
// request and one reply per connection:
//   request: "FVS1 DEADLINE\n" (DEADLINE: when fastvsadm stops waiting, in milliseconds since
//            the epoch; 0: none), the argument words, each ended by '\0'; an empty word; then
//            fastvsadm's standard input (for -R). The client half-closes after it.
//   reply:   "ok\n" then what fastvsadm prints on stdout, or "error\n" then one line naming the
//            problem. The server closes after it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace fastvs {

struct CliRequest {
  std::vector<std::string> words;
  std::string input;  // what fastvsadm read from its standard input (-R)
  // When the client stops waiting (CLOCK_REALTIME, ms; 0: never). fastvsd applies no change
  // past it: a change the client reports as timed out is one that was never made.
  uint64_t deadline_ms = 0;
};

// CLOCK_REALTIME in milliseconds: the clock of deadlines (fastvsadm and fastvsd share the host).
uint64_t cli_now_ms();

struct CliReply {
  bool ok = true;
  std::string text;  // ok: what fastvsadm prints on stdout; error: the one-line message
};

// A request larger than this is refused (an -R of a very large table fits).
inline constexpr size_t kCliMaxRequest = 32u << 20;

std::string cli_encode_request(const CliRequest& req);
// A complete request, or nullopt if it is not in the wire format.
std::optional<CliRequest> cli_decode_request(const std::string& raw);

// A request as the server reads it, piece by piece: refused as soon as its first bytes cannot
// begin one (not "FVS1 " and a deadline's digits: a stray client is told at once, not at its
// deadline) or it grows past kCliMaxRequest; decoded whole at the client's half-close. Pieces cut
// anywhere give what the whole would (tests/fuzz/fuzz_cli_framing.cpp).
class CliRequestReader {
 public:
  enum class State { More, Malformed, TooLarge };
  State feed(const char* data, size_t n);
  // At the half-close: the request, or nullopt if it is not one.
  std::optional<CliRequest> finish() const { return cli_decode_request(in_); }
  size_t size() const { return in_.size(); }
  // Its memory given back (the request is decoded, or refused).
  void release() { std::string().swap(in_); }

 private:
  std::string in_;
};

std::string cli_encode_reply(const CliReply& r);
// A complete reply (the server closed), or nullopt if it is not one (the server stopped before
// it answered).
std::optional<CliReply> cli_decode_reply(const std::string& raw);

}  // namespace fastvs
