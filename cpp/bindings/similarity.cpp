#include "bindings/common.hpp"

namespace reelrec::bind {

void bind_similarity(py::module_& m) {}

}  // namespace reelrec::bind
