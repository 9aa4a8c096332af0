#include "bindings/common.hpp"

namespace reelrec::bind {

void bind_search(py::module_& m) {}

}  // namespace reelrec::bind
