#include "common/csr_owned.hpp"

#include <cstddef>

namespace reelrec {

CsrMatrix transpose(const CsrView& a) {
    CsrMatrix t;
    t.n_rows = a.n_cols;
    t.n_cols = a.n_rows;
    const int64_t nnz = a.nnz();
    t.indptr.assign(static_cast<std::size_t>(a.n_cols) + 1, 0);
    t.indices.resize(static_cast<std::size_t>(nnz));
    if (a.data) t.data.resize(static_cast<std::size_t>(nnz));
    for (int64_t p = 0; p < nnz; ++p) ++t.indptr[static_cast<std::size_t>(a.indices[p]) + 1];
    for (int64_t c = 0; c < a.n_cols; ++c) t.indptr[c + 1] += t.indptr[c];
    // next[c] is the write cursor of output row c; visiting input rows in order
    // keeps every output row sorted by its column (= input row) index.
    std::vector<int64_t> next(t.indptr.begin(), t.indptr.end() - 1);
    for (int64_t r = 0; r < a.n_rows; ++r) {
        for (int64_t p = a.row_begin(r); p < a.row_end(r); ++p) {
            const int64_t dst = next[a.indices[p]]++;
            t.indices[dst] = static_cast<int32_t>(r);
            if (a.data) t.data[dst] = a.data[p];
        }
    }
    return t;
}

}  // namespace reelrec
