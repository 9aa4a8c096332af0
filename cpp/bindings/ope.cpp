// Bindings for reelrec.ope: per-round estimator terms, the multi-column
// bootstrap, and the reward model. The Python layer validates everything; the
// checks here only keep malformed calls from reading out of bounds.
#include <cmath>
#include <string>

#include "bindings/common.hpp"
#include "ope/bootstrap.hpp"
#include "ope/estimators.hpp"
#include "ope/poisson_multinomial.hpp"
#include "ope/reward_model.hpp"

namespace reelrec::bind {

namespace {

// Shape (n, A) or (n, A, P) of a policy or reward array, as (A, P).
std::pair<int64_t, int64_t> action_position_shape(const Array<double>& a, int64_t n, const char* name) {
    require(a.ndim() == 2 || a.ndim() == 3, std::string(name) + ": expected a 2-d or 3-d array");
    require(a.shape(0) == n, std::string(name) + ": expected one row per round");
    return {a.shape(1), a.ndim() == 3 ? a.shape(2) : 1};
}

template <class T>
const T* opt_data(const OptArray<T>& a, int64_t n, const char* name) {
    if (!a) return nullptr;
    require(a->ndim() == 1 && a->shape(0) == n, std::string(name) + ": expected one value per round");
    return a->data();
}

}  // namespace

void bind_ope(py::module_& m) {
    m.def(
        "ope_round_terms",
        [](int kind, const Array<double>& target, const OptArray<double>& rewards,
           const OptArray<int64_t>& actions, const OptArray<double>& propensities,
           const OptArray<int64_t>& positions, const OptArray<double>& qhat, double param,
           const OptArray<double>& qpi, int num_threads) {
            require(kind >= 0 && kind <= static_cast<int>(ope::EstimatorKind::DROS),
                    "unknown estimator kind");
            const auto k = static_cast<ope::EstimatorKind>(kind);
            const int64_t n = target.ndim() >= 1 ? target.shape(0) : 0;
            ope::RoundInputs in;
            in.n_rounds = n;
            std::tie(in.n_actions, in.target_positions) = action_position_shape(target, n, "target_probs");
            in.target = target.data();
            in.rewards = opt_data(rewards, n, "rewards");
            in.actions = opt_data(actions, n, "actions");
            in.propensities = opt_data(propensities, n, "propensities");
            in.positions = opt_data(positions, n, "positions");
            if (qhat) {
                int64_t qa;
                std::tie(qa, in.qhat_positions) = action_position_shape(*qhat, n, "estimated_rewards");
                require(qa == in.n_actions, "estimated_rewards: expected as many actions as target_probs");
                in.qhat = qhat->data();
            }
            in.qpi = opt_data(qpi, n, "qpi");
            const bool ratio = ope::has_ratio_term(k);
            const bool weighted = k != ope::EstimatorKind::DM;
            Array<double> plain(n);
            py::object num = py::none(), den = py::none(), weights = py::none();
            ope::RoundOutputs out;
            out.plain = plain.mutable_data();
            if (ratio) {
                Array<double> a(n), b(n);
                out.num = a.mutable_data();
                out.den = b.mutable_data();
                num = a;
                den = b;
            }
            if (weighted) {
                Array<double> w(n);
                out.weights = w.mutable_data();
                weights = w;
            }
            {
                py::gil_scoped_release release;
                ope::round_terms(k, in, param, out, num_threads);
            }
            return py::make_tuple(plain, num, den, weights);
        },
        py::arg("kind"), py::arg("target"), py::arg("rewards"), py::arg("actions"), py::arg("propensities"),
        py::arg("positions"), py::arg("qhat"), py::arg("param"), py::arg("qpi"), py::arg("num_threads"));

    m.def(
        "ope_bootstrap",
        [](const Array<double>& plain, const OptArray<double>& num, const OptArray<double>& den,
           const OptArray<uint8_t>& has_ratio, int64_t n_boot, uint64_t seed, int method, int num_threads) {
            require_ndim(plain, 2, "plain");
            const int64_t n = plain.shape(0), E = plain.shape(1);
            require(n > 0 && E > 0, "bootstrap: expected at least one round and one column");
            require(n_boot > 0, "n_boot must be positive");
            require(method >= 0 && method <= 3, "unknown bootstrap method");
            require(static_cast<bool>(num) == static_cast<bool>(den) &&
                        static_cast<bool>(num) == static_cast<bool>(has_ratio),
                    "num, den and has_ratio go together");
            ope::BootstrapColumns cols;
            cols.plain = plain.data();
            cols.n = n;
            cols.n_cols = E;
            if (num) {
                require(num->ndim() == 2 && num->shape(0) == n && num->shape(1) == E,
                        "num: expected the shape of plain");
                require(den->ndim() == 2 && den->shape(0) == n && den->shape(1) == E,
                        "den: expected the shape of plain");
                require(has_ratio->ndim() == 1 && has_ratio->shape(0) == E, "has_ratio: one flag per column");
                cols.num = num->data();
                cols.den = den->data();
                cols.has_ratio = has_ratio->data();
            }
            Array<double> out({n_boot, E});
            ope::BootstrapMethod used;
            {
                py::gil_scoped_release release;
                used =
                    ope::bootstrap_replicates(cols, n_boot, seed, static_cast<ope::BootstrapMethod>(method),
                                              num_threads, out.mutable_data());
            }
            return py::make_tuple(out, static_cast<int>(used));
        },
        py::arg("plain"), py::arg("num"), py::arg("den"), py::arg("has_ratio"), py::arg("n_boot"),
        py::arg("seed"), py::arg("method"), py::arg("num_threads"));

    m.def(
        "ope_multinomial_kernel", [] { return std::string(ope::multinomial_kernel_name()); },
        "The bootstrap's Poisson-pass kernel in use: \"avx512\" or \"generic\".");

    m.def(
        "ope_fit_reward_model",
        [](const Array<double>& contexts, const Array<double>& rewards, const Array<int64_t>& actions,
           const OptArray<int64_t>& positions, int64_t n_actions, int64_t n_positions,
           const Array<int64_t>& rows, int kind, double l2, int max_iter, double tol, int num_threads) {
            require_ndim(contexts, 2, "contexts");
            require_ndim(rows, 1, "rows");
            require(kind == 0 || kind == 1, "unknown reward model kind");
            require(n_actions > 0 && n_positions > 0, "n_actions and n_positions must be positive");
            require(l2 > 0 && std::isfinite(l2), "l2 must be positive and finite");
            ope::RewardData data;
            data.contexts = contexts.data();
            data.n = contexts.shape(0);
            data.dim = contexts.shape(1);
            data.rewards = opt_data(OptArray<double>(rewards), data.n, "rewards");
            data.actions = opt_data(OptArray<int64_t>(actions), data.n, "actions");
            data.positions = opt_data(positions, data.n, "positions");
            data.n_actions = n_actions;
            data.n_positions = n_positions;
            ope::RewardFitOptions options;
            options.kind = static_cast<ope::RewardKind>(kind);
            options.l2 = l2;
            options.max_iter = max_iter;
            options.tol = tol;
            const int64_t D = ope::reward_feature_dim(data.dim, n_positions);
            Array<double> coef({n_actions + 1, D});
            int iterations;
            {
                py::gil_scoped_release release;
                iterations = ope::fit_reward_model(data, rows.data(), rows.shape(0), options, num_threads,
                                                   coef.mutable_data());
            }
            return py::make_tuple(coef, iterations);
        },
        py::arg("contexts"), py::arg("rewards"), py::arg("actions"), py::arg("positions"),
        py::arg("n_actions"), py::arg("n_positions"), py::arg("rows"), py::arg("kind"), py::arg("l2"),
        py::arg("max_iter"), py::arg("tol"), py::arg("num_threads"));

    m.def(
        "ope_predict_reward_model",
        [](const Array<double>& contexts, const Array<int64_t>& rows, const Array<double>& coef,
           int64_t n_actions, int64_t n_positions, int kind, int num_threads) {
            require_ndim(contexts, 2, "contexts");
            require_ndim(rows, 1, "rows");
            require_ndim(coef, 2, "coef");
            require(kind == 0 || kind == 1, "unknown reward model kind");
            const int64_t n = contexts.shape(0), d = contexts.shape(1), m = rows.shape(0);
            require(n_actions > 0 && n_positions > 0, "n_actions and n_positions must be positive");
            require(
                coef.shape(0) == n_actions + 1 && coef.shape(1) == ope::reward_feature_dim(d, n_positions),
                "coef: shape does not match the contexts, actions and positions");
            const int64_t* r = rows.data();
            for (int64_t k = 0; k < m; ++k) require(r[k] >= 0 && r[k] < n, "rows: index out of range");
            Array<double> out({m, n_actions, n_positions});
            {
                py::gil_scoped_release release;
                ope::predict_reward_model(contexts.data(), d, r, m, coef.data(), n_actions, n_positions,
                                          static_cast<ope::RewardKind>(kind), num_threads,
                                          out.mutable_data());
            }
            return out;
        },
        py::arg("contexts"), py::arg("rows"), py::arg("coef"), py::arg("n_actions"), py::arg("n_positions"),
        py::arg("kind"), py::arg("num_threads"));
}

}  // namespace reelrec::bind
