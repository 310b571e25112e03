#include "common/cli_proto.h"

#include <time.h>

#include <string_view>

namespace fastvs {

namespace {
constexpr std::string_view kMagic = "FVS1 ";
}  // namespace

uint64_t cli_now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

std::string cli_encode_request(const CliRequest& req) {
  std::string out(kMagic);
  out += std::to_string(req.deadline_ms);
  out += '\n';
  for (const auto& w : req.words) {
    out += w;
    out += '\0';
  }
  out += '\0';
  out += req.input;
  return out;
}

std::optional<CliRequest> cli_decode_request(const std::string& raw) {
  CliRequest req;
  if (raw.compare(0, kMagic.size(), kMagic) != 0) return std::nullopt;
  const size_t nl = raw.find('\n', kMagic.size());
  if (nl == std::string::npos || nl == kMagic.size() || nl > kMagic.size() + 19)
    return std::nullopt;
  uint64_t deadline = 0;
  for (size_t i = kMagic.size(); i < nl; ++i) {
    if (raw[i] < '0' || raw[i] > '9') return std::nullopt;
    deadline = deadline * 10 + static_cast<uint64_t>(raw[i] - '0');
  }
  // Canonical digits only (no leading zero but "0"), so that a request encodes back as it came.
  if (raw[kMagic.size()] == '0' && nl > kMagic.size() + 1) return std::nullopt;
  req.deadline_ms = deadline;
  size_t pos = nl + 1;
  while (true) {
    const size_t end = raw.find('\0', pos);
    if (end == std::string::npos) return std::nullopt;  // no terminating empty word
    if (end == pos) {
      req.input = raw.substr(end + 1);
      return req;
    }
    req.words.push_back(raw.substr(pos, end - pos));
    pos = end + 1;
  }
}

CliRequestReader::State CliRequestReader::feed(const char* data, size_t n) {
  if (n > kCliMaxRequest - in_.size()) return State::TooLarge;
  const size_t before = in_.size();
  in_.append(data, n);
  // Only the head can be judged early: the magic, then the deadline's digits up to its newline
  // (cli_decode_request's rules, as far as the bytes go).
  const size_t head = kMagic.size() + 20;  // the magic, at most 19 digits, the newline
  for (size_t i = before; i < in_.size() && i < head; ++i) {
    const char c = in_[i];
    if (i < kMagic.size()) {
      if (c != kMagic[i]) return State::Malformed;
      continue;
    }
    if (in_.find('\n', kMagic.size()) < i) break;  // past the deadline line: words follow
    const size_t digit = i - kMagic.size();
    if (c == '\n') {
      if (digit == 0) return State::Malformed;  // no digits
      break;
    }
    if (c < '0' || c > '9' || digit >= 19) return State::Malformed;
    if (digit == 1 && in_[kMagic.size()] == '0') return State::Malformed;  // "0" is alone
  }
  return State::More;
}

std::string cli_encode_reply(const CliReply& r) {
  std::string out = (r.ok ? "ok\n" : "error\n") + r.text;
  if (!r.ok && (out.empty() || out.back() != '\n')) out += '\n';
  return out;
}

std::optional<CliReply> cli_decode_reply(const std::string& raw) {
  const size_t nl = raw.find('\n');
  if (nl == std::string::npos) return std::nullopt;
  const std::string status = raw.substr(0, nl);
  if (status != "ok" && status != "error") return std::nullopt;
  return CliReply{status == "ok", raw.substr(nl + 1)};
}

}  // namespace fastvs
