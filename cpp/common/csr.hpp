// Non-owning views over users x items CSR matrices coming from scipy.
//
// indptr is int64 so that a billion interactions fit; indices are int32
// (a catalogue has fewer than 2^31 items). Column indices must be sorted within
// each row: kernels that walk the catalogue in tiles rely on it.
#pragma once

#include <cstdint>

namespace reelrec {

struct CsrView {
    const int64_t* indptr = nullptr;
    const int32_t* indices = nullptr;
    const float* data = nullptr;  // may be null for pattern-only uses
    int64_t n_rows = 0;
    int64_t n_cols = 0;

    bool empty() const { return indptr == nullptr; }
    int64_t row_begin(int64_t r) const { return indptr[r]; }
    int64_t row_end(int64_t r) const { return indptr[r + 1]; }
    int64_t nnz() const { return indptr ? indptr[n_rows] : 0; }
};

}  // namespace reelrec
