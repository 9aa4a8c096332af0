#include "mf/sparse_ops.hpp"

#include <cstddef>

namespace reelrec::mf {

CsrOwned transpose(const CsrView& X) {
    CsrOwned T;
    T.n_rows = X.n_cols;
    T.n_cols = X.n_rows;
    const int64_t nnz = X.nnz();
    T.indptr.assign(static_cast<std::size_t>(X.n_cols) + 1, 0);
    T.indices.resize(static_cast<std::size_t>(nnz));
    if (X.data) T.data.resize(static_cast<std::size_t>(nnz));
    for (int64_t k = 0; k < nnz; ++k) ++T.indptr[static_cast<std::size_t>(X.indices[k]) + 1];
    for (int64_t c = 0; c < X.n_cols; ++c) T.indptr[c + 1] += T.indptr[c];
    std::vector<int64_t> next(T.indptr.begin(), T.indptr.end() - 1);
    for (int64_t r = 0; r < X.n_rows; ++r) {
        for (int64_t k = X.row_begin(r); k < X.row_end(r); ++k) {
            const int64_t pos = next[X.indices[k]]++;
            T.indices[pos] = static_cast<int32_t>(r);
            if (X.data) T.data[pos] = X.data[k];
        }
    }
    return T;
}

}  // namespace reelrec::mf
