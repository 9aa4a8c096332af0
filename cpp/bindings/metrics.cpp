#include "bindings/common.hpp"

namespace reelrec::bind {

void bind_metrics(py::module_& m) {}

}  // namespace reelrec::bind
