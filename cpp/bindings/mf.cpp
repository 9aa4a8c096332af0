#include "bindings/common.hpp"

namespace reelrec::bind {

void bind_mf(py::module_& m) {}

}  // namespace reelrec::bind
