// Owning CSR storage and the transpose every neighbourhood model needs.
//
// Why a separate owning type: kernels receive non-owning CsrView (csr.hpp) from
// scipy, but the item-item and user-user paths also need the other orientation
// of the same matrix, built here once per fit.
//
// Complexity: transpose is a counting sort, O(nnz + n_rows + n_cols) time and one
// output matrix of memory; rows of the result come out sorted because input rows
// are visited in order.
#pragma once

#include <cstdint>
#include <vector>

#include "common/csr.hpp"

namespace reelrec::similarity {

struct Csr {
    std::vector<int64_t> indptr;
    std::vector<int32_t> indices;
    std::vector<float> data;
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
Csr transpose(const CsrView& a);

// Number of stored entries per row.
inline int64_t row_length(const CsrView& a, int64_t r) { return a.indptr[r + 1] - a.indptr[r]; }

}  // namespace reelrec::similarity
