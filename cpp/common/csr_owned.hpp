// Owning CSR storage, and the transpose that the mf and similarity kernels need.
//
// Why an owning type next to CsrView (csr.hpp): kernels receive non-owning views
// from scipy, but several fits also need the other orientation of the same
// matrix, built once per fit and then viewed like any other input.
//
// Complexity: transpose is a counting sort, O(nnz + n_rows + n_cols) time and one
// output matrix of memory. It is stable (input rows are visited in order), so the
// rows of the result come out with sorted column indices.
#pragma once

#include <cstdint>
#include <vector>

#include "common/csr.hpp"

namespace reelrec {

struct CsrMatrix {
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
    int64_t nnz() const { return indptr.empty() ? 0 : indptr.back(); }
};

// Transpose of `a` (n_cols x n_rows). Values are copied when present.
CsrMatrix transpose(const CsrView& a);

}  // namespace reelrec
