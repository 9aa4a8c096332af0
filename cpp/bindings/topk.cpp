#include "common/topk.hpp"

#include "bindings/common.hpp"

namespace reelrec::bind {

void bind_topk(py::module_& m) {
    m.def(
        "topk_dot",
        [](const Array<float>& queries, const Array<float>& items, const OptArray<float>& item_bias,
           int64_t k, const OptArray<uint8_t>& allow, const OptArray<uint8_t>& deny,
           const OptArray<int64_t>& seen_indptr, const OptArray<int32_t>& seen_indices, int num_threads) {
            require_ndim(queries, 2, "queries");
            require_ndim(items, 2, "items");
            require(queries.shape(1) == items.shape(1), "queries and items differ in dimension");
            require(k > 0, "k must be positive");
            const int64_t n_q = queries.shape(0), n_items = items.shape(0), d = items.shape(1);
            if (item_bias) require(item_bias->size() == n_items, "item_bias: one value per item");
            ItemFilter f = make_filter(allow, deny, seen_indptr, seen_indices, n_q, n_items);
            Array<int32_t> ids({n_q, k});
            Array<float> scores({n_q, k});
            {
                py::gil_scoped_release release;
                topk_dot(queries.data(), n_q, items.data(), n_items, d,
                         item_bias ? item_bias->data() : nullptr, k, f, ids.mutable_data(),
                         scores.mutable_data(), num_threads);
            }
            return py::make_tuple(ids, scores);
        },
        py::arg("queries"), py::arg("items"), py::arg("item_bias"), py::arg("k"), py::arg("allow"),
        py::arg("deny"), py::arg("seen_indptr"), py::arg("seen_indices"), py::arg("num_threads"));

    m.def(
        "topk_dense",
        [](const Array<float>& scores, int64_t k, const OptArray<uint8_t>& allow,
           const OptArray<uint8_t>& deny, const OptArray<int64_t>& seen_indptr,
           const OptArray<int32_t>& seen_indices, int num_threads) {
            require_ndim(scores, 2, "scores");
            require(k > 0, "k must be positive");
            const int64_t n = scores.shape(0), n_items = scores.shape(1);
            ItemFilter f = make_filter(allow, deny, seen_indptr, seen_indices, n, n_items);
            Array<int32_t> ids({n, k});
            Array<float> out({n, k});
            {
                py::gil_scoped_release release;
                topk_dense(scores.data(), n, n_items, k, f, ids.mutable_data(), out.mutable_data(),
                           num_threads);
            }
            return py::make_tuple(ids, out);
        },
        py::arg("scores"), py::arg("k"), py::arg("allow"), py::arg("deny"), py::arg("seen_indptr"),
        py::arg("seen_indices"), py::arg("num_threads"));
}

}  // namespace reelrec::bind
