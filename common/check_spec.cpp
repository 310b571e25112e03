#include "common/check_spec.h"

#include <algorithm>

namespace fastvs {

const char* check_kind_name(CheckKind k) {
  switch (k) {
    case CheckKind::Tcp:
      return "TCP_CHECK";
    case CheckKind::Http:
      return "HTTP_GET";
    case CheckKind::Misc:
      return "MISC_CHECK";
  }
  return "?";
}

bool HttpUrl::status_ok(unsigned code) const {
  if (status_codes.empty()) return code >= 200 && code <= 299;
  return std::any_of(status_codes.begin(), status_codes.end(),
                     [code](const StatusRange& r) { return code >= r.lo && code <= r.hi; });
}

std::string CheckSpec::describe() const {
  if (kind == CheckKind::Misc) return std::string(check_kind_name(kind)) + " " + misc_path;
  return std::string(check_kind_name(kind)) + " " + addr_port(connect_ip, connect_port);
}

}  // namespace fastvs
