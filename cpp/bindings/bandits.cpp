#include "bindings/common.hpp"

namespace reelrec::bind {

void bind_bandits(py::module_& m) {}

}  // namespace reelrec::bind
