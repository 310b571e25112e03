// libFuzzer: the state file's reader (control/state_file.h). The input's first byte chooses
// whether the harness puts a right CRC32-C into the header before reading (odd: it does), so
// that the checks behind the checksum (counts, every record's fields) are reached, not only the
// checksum itself. Whatever the bytes, decode_state returns a file or one line, never crashes,
// never allocates what a header claims and the length does not hold; a file it accepts
// encodes back to the same bytes, and ageing it keeps every count consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "control/state_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool fix_crc = data[0] & 1;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (fix_crc && bytes.size() >= fastvs::kStateHeaderSize) {
    uint32_t crc = fastvs::crc32c(0, bytes.data(), 56);
    crc = fastvs::crc32c(crc, bytes.data() + fastvs::kStateHeaderSize,
                         bytes.size() - fastvs::kStateHeaderSize);
    for (int i = 0; i < 4; ++i) bytes[56 + i] = static_cast<char>(crc >> (8 * i));
  }
  fastvs::Result<fastvs::StateFile> f = fastvs::decode_state(bytes);
  if (!f) {
    if (f.error().empty() || f.error().find('\n') != std::string::npos) abort();
    return 0;
  }
  if (fastvs::encode_state(*f) != bytes) abort();
  const size_t nconns = f->conns.size(), ntmpls = f->tmpls.size();
  fastvs::StateCounts counts;
  // The elapsed time from the file itself: any value, negative included.
  fastvs::age_state(*f, f->saved_at_ms, &counts);
  if (f->conns.size() + counts.expired_conns != nconns) abort();
  if (f->tmpls.size() + counts.expired_tmpls != ntmpls) abort();
  for (const fastvs::StateConn& c : f->conns)
    if (c.remaining == 0 || c.remaining > c.timeout) abort();
  for (const fastvs::StateTmpl& t : f->tmpls)
    if (t.remaining == 0 || t.remaining > t.timeout) abort();
  (void)fastvs::describe_state_load(counts, f->saved_at_ms);
  return 0;
}
