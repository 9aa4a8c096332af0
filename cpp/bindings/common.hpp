// Helpers shared by the binding files: array views, CSR views and top-k filters.
//
// The Python layer validates dtypes and shapes and raises precise errors; these
// helpers only re-check the invariants that would otherwise crash the process.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "common/csr.hpp"
#include "common/topk.hpp"

namespace reelrec::bind {

namespace py = pybind11;

template <class T>
using Array = py::array_t<T, py::array::c_style>;

template <class T>
using OptArray = std::optional<Array<T>>;

// Raised as ValueError by pybind11.
inline void require(bool ok, const std::string& message) {
    if (!ok) throw py::value_error(message);
}

template <class T>
void require_ndim(const Array<T>& a, int ndim, const char* name) {
    require(a.ndim() == ndim, std::string(name) + ": expected a " + std::to_string(ndim) + "-d array, got " +
                                  std::to_string(a.ndim()) + "-d");
}

// CSR view over (indptr int64, indices int32, data float32 or None).
inline CsrView csr_view(const Array<int64_t>& indptr, const Array<int32_t>& indices,
                        const OptArray<float>& data, int64_t n_cols, const char* name) {
    require_ndim(indptr, 1, name);
    require(indptr.shape(0) >= 1, std::string(name) + ": indptr must not be empty");
    CsrView v;
    v.indptr = indptr.data();
    v.indices = indices.data();
    v.data = data ? data->data() : nullptr;
    v.n_rows = indptr.shape(0) - 1;
    v.n_cols = n_cols;
    require(v.indptr[0] == 0 && v.indptr[v.n_rows] == indices.size(),
            std::string(name) + ": indptr does not match indices");
    require(!data || data->size() == indices.size(),
            std::string(name) + ": data and indices differ in length");
    return v;
}

// Raised as IndexError: every idx[i] must lie in [0, bound).
template <class I>
void require_below(const I* idx, int64_t n, int64_t bound, const char* name) {
    for (int64_t i = 0; i < n; ++i) {
        if (idx[i] < 0 || idx[i] >= bound)
            throw py::index_error(std::string(name) + ": index " + std::to_string(idx[i]) +
                                  " is out of range for " + std::to_string(bound) + " entries");
    }
}

// The top-k item filter from the optional allow/deny flags and per-query seen
// lists. The filter points into the arrays, which must outlive it.
inline ItemFilter make_filter(const OptArray<uint8_t>& allow, const OptArray<uint8_t>& deny,
                              const OptArray<int64_t>& seen_indptr, const OptArray<int32_t>& seen_indices,
                              int64_t n_rows, int64_t n_items) {
    ItemFilter f;
    if (allow) {
        require(allow->size() == n_items, "allow: expected one flag per item");
        f.allow = allow->data();
    }
    if (deny) {
        require(deny->size() == n_items, "deny: expected one flag per item");
        f.deny = deny->data();
    }
    if (seen_indptr) {
        require(static_cast<bool>(seen_indices), "seen: indptr given without indices");
        f.seen = csr_view(*seen_indptr, *seen_indices, std::nullopt, n_items, "seen");
        require(f.seen.n_rows == n_rows, "seen: expected one row per query");
        require_below(f.seen.indices, f.seen.nnz(), n_items, "seen");
    }
    return f;
}

}  // namespace reelrec::bind
