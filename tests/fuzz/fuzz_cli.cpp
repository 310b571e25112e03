// libFuzzer: the CLI wire format (common/cli_proto.h) on any bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/cli_proto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string raw(reinterpret_cast<const char*>(data), size);
  if (const auto req = fastvs::cli_decode_request(raw)) {
    // A decoded request encodes back to the same bytes.
    if (fastvs::cli_encode_request(*req) != raw) std::abort();
  }
  if (const auto reply = fastvs::cli_decode_reply(raw)) {
    // And a decoded reply too (an error reply gains the newline it lacked).
    const std::string again = fastvs::cli_encode_reply(*reply);
    if (again != raw && again != raw + "\n") std::abort();
  }
  return 0;
}
