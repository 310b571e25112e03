// libFuzzer: the /metrics request head (control/report/metrics_http.h) read in pieces. The input's
// first 8 bytes seed the cut points, the rest is what a client sends. Pieces cut anywhere must
// give what the whole gives (the same state, the same head); a whole head is routed to one reply
// that is well-formed (a status line, headers ended by a blank line, a body only for errors or a
// 200 to GET).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "control/report/metrics_http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using fastvs::HttpHeadReader;
  uint64_t seed = 0;
  const size_t nseed = size < 8 ? size : 8;
  std::memcpy(&seed, data, nseed);
  const char* bytes = reinterpret_cast<const char*>(data) + nseed;
  const size_t n = size - nseed;

  HttpHeadReader whole;
  whole.feed(bytes, n);
  HttpHeadReader pieces;
  for (size_t off = 0; off < n && pieces.state() == HttpHeadReader::State::More;) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;  // a 64-bit LCG
    const size_t piece = 1 + (seed >> 33) % 97;
    const size_t take = piece < n - off ? piece : n - off;
    pieces.feed(bytes + off, take);
    off += take;
  }
  if (pieces.state() != whole.state()) std::abort();
  if (whole.state() != HttpHeadReader::State::Head) return 0;
  if (pieces.head() != whole.head()) std::abort();
  if (whole.head().size() > HttpHeadReader::kMaxRequest) std::abort();

  const fastvs::HttpRoute r = fastvs::http_route(whole.head());
  const std::string_view h = r.head;
  if (h.substr(0, 9) != "HTTP/1.1 ") std::abort();
  const size_t blank = h.find("\r\n\r\n");
  if (blank == std::string_view::npos) std::abort();
  const bool ok = h.substr(9, 3) == "200";
  if (r.body && !ok) std::abort();     // only a 200 has the handler's body
  if (r.chunked && !ok) std::abort();  // chunks frame a 200 (HEAD: say how a GET would be)
  if (ok && blank + 4 != h.size()) std::abort();  // a 200's body is the handler's, not here
  return 0;
}
