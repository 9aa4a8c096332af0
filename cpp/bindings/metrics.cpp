#include <string>
#include <vector>

#include "bindings/common.hpp"
#include "metrics/ranking.hpp"

namespace reelrec::bind {

void bind_metrics(py::module_& m) {
    m.def(
        "ranking_metrics",
        [](const Array<int32_t>& recommended, int64_t k, const Array<int64_t>& indptr,
           const Array<int32_t>& indices, const Array<float>& data, int64_t n_items,
           const std::vector<std::string>& metrics, int num_threads) {
            require_ndim(recommended, 2, "recommended");
            require(k > 0 && k <= recommended.shape(1), "k: must be in [1, recommended columns]");
            const int64_t n_users = recommended.shape(0);
            CsrView rel = csr_view(indptr, indices, data, n_items, "relevant");
            require(rel.n_rows == n_users, "relevant: expected one row per recommended user");

            py::dict result;
            RankingOutputs out;
            for (const std::string& name : metrics) {
                Array<double> values(n_users);
                double* ptr = values.mutable_data();
                if (name == "precision")
                    out.precision = ptr;
                else if (name == "recall")
                    out.recall = ptr;
                else if (name == "f1")
                    out.f1 = ptr;
                else if (name == "map")
                    out.average_precision = ptr;
                else if (name == "ndcg")
                    out.ndcg = ptr;
                else if (name == "mrr")
                    out.reciprocal_rank = ptr;
                else if (name == "hit_rate")
                    out.hit = ptr;
                else if (name == "auc")
                    out.auc = ptr;
                else
                    throw py::value_error("metrics: unknown ranking metric '" + name + "'");
                result[py::str(name)] = values;
            }
            {
                py::gil_scoped_release release;
                ranking_metrics(recommended.data(), n_users, recommended.shape(1), k, rel, out, num_threads);
            }
            return result;
        },
        py::arg("recommended"), py::arg("k"), py::arg("indptr"), py::arg("indices"), py::arg("data"),
        py::arg("n_items"), py::arg("metrics"), py::arg("num_threads"),
        "Per-user ranking metrics (float64 arrays, NaN for users without relevant items).");
}

}  // namespace reelrec::bind
