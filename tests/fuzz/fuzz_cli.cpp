// libFuzzer: the CLI socket's request framing on any bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "control/cli_server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string raw(reinterpret_cast<const char*>(data), size);
  fastvs::CliRequest req;
  if (fastvs::cli_decode_request(raw, &req)) {
    // A decoded request encodes back to the same bytes.
    if (fastvs::cli_encode_request(req) != raw) std::abort();
  }
  return 0;
}
