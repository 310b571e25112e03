#include "dataplane/counters.h"

namespace fastvs {

namespace {
constexpr const char* kNames[] = {
#define X(name, text) #name,
    FASTVS_DROP_REASONS(X)
#undef X
};
constexpr const char* kTexts[] = {
#define X(name, text) text,
    FASTVS_DROP_REASONS(X)
#undef X
};
}  // namespace

const char* drop_name(Drop d) {
  return kNames[static_cast<unsigned>(d)];
}
const char* drop_text(Drop d) {
  return kTexts[static_cast<unsigned>(d)];
}

}  // namespace fastvs
