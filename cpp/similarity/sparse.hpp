// Small CSR helpers shared by the neighbourhood kernels. The owning matrix and
// its transpose live in common/csr_owned.hpp (shared with mf).
#pragma once

#include <cstdint>

#include "common/csr.hpp"
#include "common/csr_owned.hpp"

namespace reelrec::similarity {

// Number of stored entries per row.
inline int64_t row_length(const CsrView& a, int64_t r) { return a.indptr[r + 1] - a.indptr[r]; }

}  // namespace reelrec::similarity
