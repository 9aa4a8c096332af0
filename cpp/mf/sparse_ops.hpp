// Small owned-CSR helpers used by the mf kernels (ALS item step, EASE Gram).
#pragma once

#include <cstdint>
#include <vector>

#include "common/csr.hpp"

namespace reelrec::mf {

struct CsrOwned {
    std::vector<int64_t> indptr;
    std::vector<int32_t> indices;
    std::vector<float> data;  // empty when the source had no values
    int64_t n_rows = 0;
    int64_t n_cols = 0;

    CsrView view() const {
        CsrView v;
        v.indptr = indptr.data();
        v.indices = indices.data();
        v.data = data.empty() ? nullptr : data.data();
        v.n_rows = n_rows;
        v.n_cols = n_cols;
        return v;
    }
};

// Transpose by counting sort: O(nnz + n_rows + n_cols) time, one copy of the
// matrix in memory. Stable, so the output rows come out with sorted indices.
CsrOwned transpose(const CsrView& X);

}  // namespace reelrec::mf
