#include "bindings/common.hpp"

namespace reelrec::bind {

void bind_ope(py::module_& m) {}

}  // namespace reelrec::bind
