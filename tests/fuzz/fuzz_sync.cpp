// libFuzzer: IPVS sync messages (control/sync/sync_proto.h) on any bytes, with any backup
// syncid (the input's first byte). The decoder takes at most the 255 entries a message can
// count, never more than the bytes hold; every entry it takes writes back (Writer) to a
// message that decodes to the same entry.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "control/sync/sync_proto.h"

using namespace fastvs::sync;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t syncid = data[0];
  const std::span<const uint8_t> msg(data + 1, size - 1);
  const Decoded d = decode(msg, syncid);
  // Version 0's smallest entry is 24 bytes, version 1's 36.
  if (d.entries.size() > 255 || d.entries.size() * 24 > msg.size()) abort();
  for (const Entry& e : d.entries) {
    if (!(e.flags & kSync) || e.v6 || !e.pe_data.empty()) abort();
    // What a master writes back: the sequence option as its flags say (ip_vs_sync_conn()), no
    // engine name without its data.
    if (e.has_seq != ((e.flags & kSeqMask) != 0) || !e.pe_name.empty()) continue;
    // Version 0 keeps every flag bit (ip_vs_process_message_v0()), version 1 only the backup's.
    Entry v1 = e;
    v1.flags = (e.flags & kBackupMask) | kSync;
    Writer w(syncid, 1472);
    if (!w.add(v1)) abort();
    const Decoded again = decode(w.bytes(), syncid);
    if (again.entries.size() != 1 || !(again.entries[0] == v1)) abort();
  }
  return 0;
}
