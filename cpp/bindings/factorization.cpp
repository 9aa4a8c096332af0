#include "bindings/common.hpp"

namespace reelrec::bind {

void bind_factorization(py::module_& m) {}

}  // namespace reelrec::bind
