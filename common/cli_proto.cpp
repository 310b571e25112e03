#include "common/cli_proto.h"

namespace fastvs {

std::string cli_encode_request(const CliRequest& req) {
  std::string out;
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
  size_t pos = 0;
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
