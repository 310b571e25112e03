// libFuzzer: a CLI request (common/cli_proto.h) as the server reads it, in pieces. The input's
// first 8 bytes seed the cut points, the rest is what a client sends before its half-close. The
// reader must refuse early only what would not decode whole (never a real request), must reach
// the same decoding whatever the cuts, and a decoded request encodes back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/cli_proto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using fastvs::CliRequestReader;
  uint64_t seed = 0;
  const size_t nseed = size < 8 ? size : 8;
  std::memcpy(&seed, data, nseed);
  const std::string raw(reinterpret_cast<const char*>(data) + nseed, size - nseed);
  const auto whole = fastvs::cli_decode_request(raw);

  CliRequestReader reader;
  CliRequestReader::State st = CliRequestReader::State::More;
  for (size_t off = 0; off < raw.size() && st == CliRequestReader::State::More;) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;  // a 64-bit LCG
    const size_t piece = 1 + (seed >> 33) % 61;
    const size_t take = piece < raw.size() - off ? piece : raw.size() - off;
    st = reader.feed(raw.data() + off, take);
    off += take;
  }
  if (st == CliRequestReader::State::TooLarge) std::abort();  // inputs are far below the limit
  if (st == CliRequestReader::State::Malformed) {
    if (whole) std::abort();  // refused early, yet a request
    return 0;
  }
  const auto got = reader.finish();
  if (got.has_value() != whole.has_value()) std::abort();
  if (got) {
    if (got->words != whole->words || got->input != whole->input ||
        got->deadline_ms != whole->deadline_ms)
      std::abort();
    if (fastvs::cli_encode_request(*got) != raw) std::abort();
  }
  return 0;
}
