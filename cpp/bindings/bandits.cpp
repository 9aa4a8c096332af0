// Bindings for the bandit policies (python/reelrec/bandits). The Python layer
// validates shapes, dtypes and values; this file re-checks what would
// otherwise read out of bounds and translates arrays.
#include <cmath>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bandits/counting.hpp"
#include "bandits/dense.hpp"
#include "bandits/hybrid.hpp"
#include "bandits/linear.hpp"
#include "bandits/normal_argmax.hpp"
#include "bandits/quadform.hpp"
#include "bandits/rng.hpp"
#include "bandits/slate.hpp"
#include "bandits/thompson_batch.hpp"
#include "bindings/common.hpp"
#include "common/cpu.hpp"

namespace reelrec::bind {

namespace {

using namespace reelrec::bandits;

py::dict state_to_dict(const StateDict& s) {
    py::dict out;
    for (const auto& [name, v] : s.f64) {
        Array<double> a(static_cast<py::ssize_t>(v.size()));
        std::copy(v.begin(), v.end(), a.mutable_data());
        out[py::str(name)] = a;
    }
    for (const auto& [name, v] : s.i64) {
        Array<int64_t> a(static_cast<py::ssize_t>(v.size()));
        std::copy(v.begin(), v.end(), a.mutable_data());
        out[py::str(name)] = a;
    }
    return out;
}

StateDict dict_to_state(const py::dict& d) {
    StateDict s;
    for (auto item : d) {
        const std::string name = py::str(item.first);
        py::array arr = py::reinterpret_borrow<py::array>(item.second);
        const char kind = arr.dtype().kind();
        if (kind == 'f') {
            auto a = Array<double>::ensure(arr);
            s.f64[name] = std::vector<double>(a.data(), a.data() + a.size());
        } else if (kind == 'i' || kind == 'u' || kind == 'b') {
            auto a = Array<int64_t>::ensure(arr);
            s.i64[name] = std::vector<int64_t>(a.data(), a.data() + a.size());
        } else {
            throw py::value_error("state: array '" + name + "' has an unsupported dtype");
        }
    }
    return s;
}

// Resolves the availability mask: None, one row of n_slots flags, or one row per request.
Availability availability(const OptArray<uint8_t>& mask, bool per_request, int64_t n, int64_t n_slots) {
    Availability av;
    if (!mask) return av;
    const int64_t expected = per_request ? n * n_slots : n_slots;
    require(mask->size() == expected, "available: expected " + std::to_string(expected) + " flags, got " +
                                          std::to_string(mask->size()));
    av.flags = mask->data();
    av.per_request = per_request;
    return av;
}

SelectConfig make_config(int64_t k, int64_t n_mc, double share, int64_t new_pulls, int num_threads) {
    require(k > 0, "k: expected a positive integer");
    require(n_mc >= 0, "n_mc: expected >= 0");
    SelectConfig cfg;
    cfg.k = k;
    cfg.n_mc = n_mc;
    cfg.new_arm_share = share;
    cfg.new_arm_pulls = new_pulls;
    cfg.num_threads = num_threads;
    return cfg;
}

py::tuple outputs(Array<int64_t>& arms, Array<double>& p) { return py::make_tuple(arms, p); }

template <class Policy, class Cls>
void common_methods(Cls& cls) {
    cls.def_property_readonly("n_slots",
                              [](const Policy& p) {
                                  std::lock_guard<std::mutex> lock(p.guard);
                                  return p.core.arms.n_slots();
                              })
        .def_property_readonly("n_active",
                               [](const Policy& p) {
                                   std::lock_guard<std::mutex> lock(p.guard);
                                   return p.core.arms.n_active();
                               })
        .def_property_readonly("next_request",
                               [](const Policy& p) {
                                   std::lock_guard<std::mutex> lock(p.guard);
                                   return p.core.next_request;
                               })
        .def_property_readonly("n_updates",
                               [](const Policy& p) {
                                   std::lock_guard<std::mutex> lock(p.guard);
                                   return p.core.n_updates;
                               })
        .def_property_readonly("seed",
                               [](const Policy& p) {
                                   std::lock_guard<std::mutex> lock(p.guard);
                                   return static_cast<int64_t>(p.core.seed);
                               })
        .def("active",
             [](const Policy& p) {
                 std::lock_guard<std::mutex> lock(p.guard);
                 const int64_t S = p.core.arms.n_slots();
                 Array<bool> out(S);
                 for (int64_t a = 0; a < S; ++a) out.mutable_data()[a] = p.core.arms.active()[a] != 0;
                 return out;
             })
        .def("pulls",
             [](const Policy& p) {
                 std::lock_guard<std::mutex> lock(p.guard);
                 const int64_t S = p.core.arms.n_slots();
                 Array<int64_t> out(S);
                 std::copy(p.core.arms.pulls(), p.core.arms.pulls() + S, out.mutable_data());
                 return out;
             })
        .def(
            "remove_arm",
            [](Policy& p, int64_t arm) {
                std::lock_guard<std::mutex> lock(p.guard);
                p.remove_arm(arm);
            },
            py::arg("arm"))
        .def("get_state",
             [](const Policy& p) {
                 StateDict s;
                 {
                     std::lock_guard<std::mutex> lock(p.guard);
                     s = p.export_state();
                 }
                 return state_to_dict(s);
             })
        .def(
            "set_state",
            [](Policy& p, const py::dict& d) {
                StateDict s = dict_to_state(d);
                std::lock_guard<std::mutex> lock(p.guard);
                p.import_state(s);
            },
            py::arg("state"));
}

}  // namespace

void bind_bandits(py::module_& m) {
    m.def("bandits_philox4x32", [](const Array<uint32_t>& counter, const Array<uint32_t>& key) {
        require(counter.size() == 4 && key.size() == 2, "philox: counter has 4 words, key 2");
        Array<uint32_t> out(4);
        philox4x32_10(counter.data(), key.data(), out.mutable_data());
        return out;
    });
    m.def(
        "bandits_draw",
        [](const std::string& dist, int64_t n, uint64_t seed, double a, double b) {
            require(n >= 0, "n: expected >= 0");
            require(dist == "uniform" || dist == "normal" || dist == "gamma" || dist == "beta",
                    "dist: expected uniform, normal, gamma or beta");
            require(dist != "gamma" || a > 0, "a: expected > 0");
            require(dist != "beta" || (a > 0 && b > 0), "a, b: expected > 0");
            Array<double> out(n);
            double* o = out.mutable_data();
            RandomStream rng(seed, 0);
            for (int64_t i = 0; i < n; ++i) {
                if (dist == "uniform") {
                    o[i] = rng.uniform();
                } else if (dist == "normal") {
                    o[i] = rng.normal();
                } else if (dist == "gamma") {
                    o[i] = std::exp(rng.log_gamma_variate(a));
                } else {
                    o[i] = rng.beta(a, b);
                }
            }
            return out;
        },
        py::arg("dist"), py::arg("n"), py::arg("seed"), py::arg("a") = 1.0, py::arg("b") = 1.0);
    m.def(
        "bandits_thompson_draws",
        [](const std::string& model, uint64_t seed, uint64_t first_request, int64_t r0, int64_t n,
           const Array<double>& m_in, const Array<double>& w_in, const std::string& isa) {
            require(model == "normal" || model == "beta", "model: expected normal or beta");
            require(n >= 0 && r0 >= 0, "n, r0: expected >= 0");
            // Normal draws may take per-request rows: m, w of shape (n, n_cand).
            const bool rows = model == "normal" && m_in.ndim() == 2;
            require(
                m_in.ndim() == w_in.ndim() && m_in.size() == w_in.size() && m_in.size() > 0 &&
                    (m_in.ndim() == 1 ||
                     (rows && m_in.shape(0) == n && w_in.shape(0) == n && m_in.shape(1) == w_in.shape(1))),
                "m, w: expected two 1-d arrays of one non-zero length (normal: or two (n, n_cand) arrays)");
            const int64_t nc = static_cast<int64_t>(rows ? m_in.shape(1) : m_in.size());
            std::vector<int64_t> cols(static_cast<std::size_t>(nc));
            for (int64_t c = 0; c < nc; ++c) cols[c] = c;
            ThompsonBatch job;
            job.seed = seed;
            job.first_request = first_request;
            job.n_cand = nc;
            std::vector<GammaShape> shapes;
            bool ratio = true;
            if (model == "beta") {
                for (int64_t c = 0; c < nc; ++c) {
                    require(m_in.data()[c] > 0 && w_in.data()[c] > 0, "m, w: Beta shapes must be > 0");
                    shapes.emplace_back(m_in.data()[c]);
                    shapes.emplace_back(w_in.data()[c]);
                    ratio = ratio && !shapes[2 * c].boosted && !shapes[2 * c + 1].boosted;
                }
                job.model = ratio ? ThompsonModel::BetaRatio : ThompsonModel::BetaLogit;
                job.shapes = shapes.data();
            } else {
                job.model = ThompsonModel::Normal;
                job.m = m_in.data();
                job.w = w_in.data();
                if (rows) {
                    job.mw_stride = nc;
                    job.cols = cols.data();
                }
            }
            const bool known = isa.empty() || parse_isa(isa, /*scalar=*/true).has_value();
            require(known, "isa: expected scalar, generic, avx2 or avx512, got " + isa);
            if (!isa.empty() && !thompson_isa_available(isa)) return py::object(py::none());
            Array<int64_t> pos(n);
            Array<double> values({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(nc)});
            {
                py::gil_scoped_release release;
                thompson_draws(job, r0, n, pos.mutable_data(), values.mutable_data(), isa.c_str());
            }
            return py::object(py::make_tuple(pos, values));
        },
        py::arg("model"), py::arg("seed"), py::arg("first_request"), py::arg("r0"), py::arg("n"),
        py::arg("m"), py::arg("w"), py::arg("isa"));
    m.def("bandits_thompson_isa", [] { return std::string(thompson_batch_isa()); });
    m.def("bandits_quadform_isa", [] { return std::string(quadform_isa()); });
    m.def(
        "bandits_quadform",
        [](const Array<double>& X, const Array<double>& S, const std::string& isa, bool single) {
            require_ndim(X, 2, "X");
            require_ndim(S, 2, "S");
            const int64_t n = X.shape(0), d = X.shape(1);
            require(S.shape(0) == d && S.shape(1) == d, "S: expected a d x d matrix");
            Array<double> q(n);
            bool ok;
            if (single) {
                std::vector<float> xf(X.data(), X.data() + n * d), sf(S.data(), S.data() + d * d), qf(n);
                ok = quadform_rows_isa<float>(isa, xf.data(), n, d, d, sf.data(), qf.data());
                std::copy(qf.begin(), qf.end(), q.mutable_data());
            } else {
                py::gil_scoped_release release;
                ok = quadform_rows_isa<double>(isa, X.data(), n, d, d, S.data(), q.mutable_data());
            }
            if (!ok) return py::object(py::none());
            return py::object(q);
        },
        py::arg("X"), py::arg("S"), py::arg("isa"), py::arg("single") = false);
    m.def(
        "bandits_gram",
        [](const Array<double>& X, const std::string& isa, const std::optional<Array<double>>& G0) {
            require_ndim(X, 2, "X");
            const int64_t n = X.shape(0), d = X.shape(1);
            Array<double> G({d, d});
            std::fill(G.mutable_data(), G.mutable_data() + d * d, 0.0);
            if (G0) {
                require(G0->size() == d * d, "G: expected a d x d matrix to accumulate into");
                std::copy_n(G0->data(), d * d, G.mutable_data());
            }
            const bool ok = gram_accumulate_isa(isa, X.data(), n, d, d, G.mutable_data());
            if (!ok) return py::object(py::none());
            return py::object(G);
        },
        py::arg("X"), py::arg("isa"), py::arg("G") = py::none());
    m.def(
        "bandits_quadform_factor",
        [](const Array<double>& X, const Array<double>& L, const std::string& isa) {
            require_ndim(X, 2, "X");
            require_ndim(L, 2, "L");
            const int64_t n = X.shape(0), d = X.shape(1);
            require(L.shape(0) == d && L.shape(1) == d, "L: expected a d x d matrix");
            std::vector<float> xf(X.data(), X.data() + n * d), lf(L.data(), L.data() + d * d), qf(n);
            const bool ok = quadform_factor_rows_isa(isa, xf.data(), n, d, d, lf.data(), qf.data());
            if (!ok) return py::object(py::none());
            Array<double> q(n);
            std::copy(qf.begin(), qf.end(), q.mutable_data());
            return py::object(q);
        },
        py::arg("X"), py::arg("L"), py::arg("isa"));
    m.def(
        "bandits_ucb_screen",
        [](const Array<double>& X, const Array<double>& N, const Array<double>& mu, const Array<double>& cw,
           double crel, const Array<double>& emu, double scale, const std::string& isa) {
            require_ndim(X, 2, "X");
            require_ndim(N, 3, "N");
            require_ndim(mu, 2, "mu");
            const int64_t n = X.shape(0), d = X.shape(1), arms = N.shape(0);
            require(N.shape(1) == d && N.shape(2) == d, "N: expected n_arms x d x d factors");
            require(mu.shape(0) == arms && mu.shape(1) == d, "mu: expected n_arms x d means");
            require(cw.size() == arms && emu.size() == arms, "cw, emu: expected one value per arm");
            const std::vector<float> nf(N.data(), N.data() + arms * d * d),
                mf(mu.data(), mu.data() + arms * d);
            Array<double> xn(n), lo(n), arg(n), hi_arg(n), hi_other(n);
            bool ok;
            {
                py::gil_scoped_release release;
                ok = ucb_screen_isa(isa, X.data(), n, d, arms, nf.data(), mf.data(), cw.data(), crel,
                                    emu.data(), scale, xn.mutable_data(), lo.mutable_data(),
                                    arg.mutable_data(), hi_arg.mutable_data(), hi_other.mutable_data());
            }
            if (!ok) return py::object(py::none());
            return py::object(py::make_tuple(xn, lo, arg, hi_arg, hi_other));
        },
        py::arg("X"), py::arg("N"), py::arg("mu"), py::arg("cw"), py::arg("crel"), py::arg("emu"),
        py::arg("scale"), py::arg("isa"));
    m.def(
        "bandits_mc_wins",
        [](const Array<double>& m_, const Array<double>& w_, const Array<float>& z, int64_t pos,
           const std::string& isa, bool filtered) {
            require_ndim(z, 2, "z");
            const int64_t nc = z.shape(0), n = z.shape(1);
            require(m_.size() == nc && w_.size() == nc, "m, w: expected one value per row of z");
            int64_t wins = 0;
            bool ok;
            {
                py::gil_scoped_release release;
                ok = mc_wins_isa(isa, filtered, m_.data(), w_.data(), z.data(), nc, n, pos, &wins);
            }
            if (!ok) return py::object(py::none());
            return py::object(py::int_(wins));
        },
        py::arg("m"), py::arg("w"), py::arg("z"), py::arg("pos"), py::arg("isa"), py::arg("filtered"));
    m.def(
        "bandits_normal_argmax_probability",
        [](const Array<double>& m_, const Array<double>& w_, int64_t pos) {
            require(m_.size() == w_.size(), "m, w: expected the same length");
            NormalArgmaxScratch scratch;
            py::gil_scoped_release release;
            return normal_argmax_probability(m_.data(), w_.data(), m_.size(), pos, scratch);
        },
        py::arg("m"), py::arg("w"), py::arg("pos"));
    m.def("bandits_quadform_f32_error_factor", &quadform_f32_error_factor, py::arg("d"));
    m.def(
        "bandits_fma_peak_probe",
        [](bool single, int64_t iterations) {
            require(iterations >= 0, "iterations: expected >= 0");
            double checksum;
            {
                py::gil_scoped_release release;
                checksum = fma_peak_probe(single, iterations);
            }
            return py::make_tuple(checksum, fma_peak_lanes(single) * 12);
        },
        py::arg("single"), py::arg("iterations"));
    m.def(
        "bandits_ridge_gram",
        [](const Array<double>& X, const Array<double>& r, const Array<int64_t>& rows,
           const std::string& isa) {
            require_ndim(X, 2, "X");
            const int64_t n = rows.size(), N = X.shape(0), d = X.shape(1);
            require(r.ndim() == 1 && r.shape(0) == N, "r: expected one reward per row of X");
            for (int64_t t = 0; t < n; ++t) {
                require(rows.data()[t] >= 0 && rows.data()[t] < N, "rows: index out of range");
            }
            Array<double> G({d + 1, d + 1});
            bool ran;
            {
                py::gil_scoped_release release;
                ran = ridge_gram_isa(isa, X.data(), r.data(), rows.data(), n, d, G.mutable_data());
            }
            if (!ran) return py::object(py::none());
            return py::object(G);
        },
        py::arg("X"), py::arg("r"), py::arg("rows"), py::arg("isa"));
    m.def("bandits_dense_isa", [] { return std::string(dense_isa()); });
    // In-place SPD kernels on a copy of A: (result, ok), or None for an ISA
    // this CPU cannot run.
    auto spd_hook = [](auto&& kernel) {
        return [kernel](const Array<double>& A, const std::string& isa) {
            require_ndim(A, 2, "A");
            const int64_t d = A.shape(0);
            require(A.shape(1) == d, "A: expected a square matrix");
            Array<double> out({d, d});
            std::copy(A.data(), A.data() + d * d, out.mutable_data());
            bool ran, ok = false;
            {
                py::gil_scoped_release release;
                ran = kernel(isa, out.mutable_data(), d, ok);
            }
            if (!ran) return py::object(py::none());
            return py::object(py::make_tuple(out, ok));
        };
    };
    m.def("bandits_spd_inverse", spd_hook([](const std::string& isa, double* A, int64_t d, bool& ok) {
              std::vector<double> work(static_cast<std::size_t>(d * d));
              return spd_inverse_isa(isa, A, d, work.data(), ok);
          }),
          py::arg("A"), py::arg("isa"));
    m.def("bandits_spd_cholesky", spd_hook([](const std::string& isa, double* A, int64_t d, bool& ok) {
              return spd_cholesky_isa(isa, A, d, ok);
          }),
          py::arg("A"), py::arg("isa"));
    m.def(
        "bandits_block_means",
        [](const Array<double>& X, const Array<double>& Mu, const std::string& isa) {
            require_ndim(X, 2, "X");
            require_ndim(Mu, 2, "Mu");
            const int64_t n = X.shape(0), d = X.shape(1), S = Mu.shape(0);
            require(Mu.shape(1) == d, "Mu: expected as many columns as X");
            Array<double> out({n, S});
            bool ran;
            {
                py::gil_scoped_release release;
                ran = block_means_isa(isa, X.data(), n, d, Mu.data(), S, out.mutable_data(), S);
            }
            if (!ran) return py::object(py::none());
            return py::object(out);
        },
        py::arg("X"), py::arg("Mu"), py::arg("isa"));

    // ------------------------------------------------------------ counting
    py::class_<CountingBandit> counting(m, "CountingBandit");
    counting
        .def(py::init<int, int64_t, double, double, uint64_t>(), py::arg("kind"), py::arg("n_arms"),
             py::arg("prior_a"), py::arg("prior_b"), py::arg("seed"))
        .def(
            "reset",
            [](CountingBandit& p, uint64_t seed) {
                std::lock_guard<std::mutex> lock(p.guard);
                p.reset(seed);
            },
            py::arg("seed"))
        .def(
            "add_arm",
            [](CountingBandit& p, double a, double b) {
                std::lock_guard<std::mutex> lock(p.guard);
                return p.add_arm(a, b);
            },
            py::arg("prior_a"), py::arg("prior_b"))
        .def(
            "update",
            [](CountingBandit& p, const Array<int64_t>& arms, const Array<double>& rewards) {
                require(arms.size() == rewards.size(), "actions and rewards differ in length");
                py::gil_scoped_release release;
                std::lock_guard<std::mutex> lock(p.guard);
                p.update(arms.data(), rewards.data(), arms.size());
            },
            py::arg("arms"), py::arg("rewards"))
        .def(
            "fit",
            [](CountingBandit& p, const Array<int64_t>& arms, const Array<double>& rewards, uint64_t seed) {
                require(arms.size() == rewards.size(), "decisions and rewards differ in length");
                py::gil_scoped_release release;
                std::lock_guard<std::mutex> lock(p.guard);
                p.fit(arms.data(), rewards.data(), arms.size(), seed);
            },
            py::arg("arms"), py::arg("rewards"), py::arg("seed"))
        .def(
            "values",
            [](const CountingBandit& p, double alpha, double noise_std) {
                std::lock_guard<std::mutex> lock(p.guard);
                CountHyper hp;
                hp.alpha = alpha;
                hp.noise_std = noise_std;
                std::vector<double> mv, wv;
                p.values(hp, mv, wv);
                Array<double> mo(static_cast<py::ssize_t>(mv.size())),
                    wo(static_cast<py::ssize_t>(wv.size()));
                std::copy(mv.begin(), mv.end(), mo.mutable_data());
                std::copy(wv.begin(), wv.end(), wo.mutable_data());
                return py::make_tuple(mo, wo);
            },
            py::arg("alpha"), py::arg("noise_std"))
        .def(
            "select",
            [](CountingBandit& p, int64_t n, int64_t k, const OptArray<uint8_t>& available, bool per_request,
               double epsilon, double decay, double alpha, double temperature, double noise_std, int64_t n_mc,
               double share, int64_t new_pulls, int num_threads) {
                require(n >= 0, "n_requests: expected >= 0");
                SelectConfig cfg = make_config(k, n_mc, share, new_pulls, num_threads);
                CountHyper hp{epsilon, decay, alpha, temperature, noise_std};
                Array<int64_t> arms({n, k});
                Array<double> prob({n, k});
                {
                    py::gil_scoped_release release;
                    std::lock_guard<std::mutex> lock(p.guard);
                    Availability av = availability(available, per_request, n, p.core.arms.n_slots());
                    p.select(n, av, cfg, hp, arms.mutable_data(), prob.mutable_data());
                }
                return outputs(arms, prob);
            },
            py::arg("n_requests"), py::arg("k"), py::arg("available"), py::arg("per_request"),
            py::arg("epsilon"), py::arg("decay"), py::arg("alpha"), py::arg("temperature"),
            py::arg("noise_std"), py::arg("n_mc"), py::arg("new_arm_share"), py::arg("new_arm_pulls"),
            py::arg("num_threads"));
    common_methods<CountingBandit>(counting);

    // ------------------------------------------------------------ linear
    py::class_<LinearBandit> linear(m, "LinearBandit");
    linear
        .def(py::init<int, int64_t, int64_t, double, uint64_t>(), py::arg("kind"), py::arg("n_arms"),
             py::arg("n_features"), py::arg("l2"), py::arg("seed"))
        .def(
            "reset",
            [](LinearBandit& p, uint64_t seed) {
                std::lock_guard<std::mutex> lock(p.guard);
                p.reset(seed);
            },
            py::arg("seed"))
        .def_property_readonly("n_features", &LinearBandit::n_features)
        .def_property_readonly("n_arm_features", &LinearBandit::n_arm_features)
        .def(
            "add_arm",
            [](LinearBandit& p, const OptArray<double>& prior, const OptArray<double>& features,
               int64_t n_neighbors) {
                if (prior) require(prior->size() == p.n_features(), "prior: expected one value per feature");
                std::lock_guard<std::mutex> lock(p.guard);
                return p.add_arm(prior ? prior->data() : nullptr, features ? features->data() : nullptr,
                                 features ? features->size() : 0, n_neighbors);
            },
            py::arg("prior"), py::arg("features"), py::arg("n_neighbors"))
        .def(
            "set_features",
            [](LinearBandit& p, const Array<int64_t>& arms, const Array<double>& features) {
                require_ndim(features, 2, "features");
                require(features.shape(0) == arms.size(), "features: expected one row per arm id");
                std::lock_guard<std::mutex> lock(p.guard);
                p.set_features(arms.data(), arms.size(), features.data(), features.shape(1));
            },
            py::arg("arms"), py::arg("features"))
        .def(
            "update",
            [](LinearBandit& p, const Array<int64_t>& arms, const Array<double>& rewards,
               const Array<double>& X, int num_threads) {
                require_ndim(X, 2, "contexts");
                require(arms.size() == rewards.size() && X.shape(0) == arms.size() &&
                            X.shape(1) == p.n_features(),
                        "actions, rewards and contexts do not match");
                py::gil_scoped_release release;
                std::lock_guard<std::mutex> lock(p.guard);
                p.update(arms.data(), rewards.data(), X.data(), arms.size(), num_threads);
            },
            py::arg("arms"), py::arg("rewards"), py::arg("contexts"), py::arg("num_threads"))
        .def(
            "fit",
            [](LinearBandit& p, const Array<int64_t>& arms, const Array<double>& rewards,
               const Array<double>& X, uint64_t seed, int num_threads) {
                require_ndim(X, 2, "contexts");
                require(arms.size() == rewards.size() && X.shape(0) == arms.size() &&
                            X.shape(1) == p.n_features(),
                        "decisions, rewards and contexts do not match");
                py::gil_scoped_release release;
                std::lock_guard<std::mutex> lock(p.guard);
                p.fit(arms.data(), rewards.data(), X.data(), arms.size(), seed, num_threads);
            },
            py::arg("arms"), py::arg("rewards"), py::arg("contexts"), py::arg("seed"), py::arg("num_threads"))
        .def(
            "select",
            [](LinearBandit& p, const Array<double>& X, int64_t k, const OptArray<uint8_t>& available,
               bool per_request, int rule, double scale, int64_t n_mc, double share, int64_t new_pulls,
               int num_threads) {
                require_ndim(X, 2, "contexts");
                require(X.shape(1) == p.n_features(), "contexts: wrong number of features");
                require(rule == 0 || rule == 2, "rule: expected greedy (UCB) or normal (Thompson)");
                const int64_t n = X.shape(0);
                SelectConfig cfg = make_config(k, n_mc, share, new_pulls, num_threads);
                cfg.rule = static_cast<Rule>(rule);
                Array<int64_t> arms({n, k});
                Array<double> prob({n, k});
                {
                    py::gil_scoped_release release;
                    std::lock_guard<std::mutex> lock(p.guard);
                    Availability av = availability(available, per_request, n, p.core.arms.n_slots());
                    p.select(X.data(), n, av, cfg, scale, arms.mutable_data(), prob.mutable_data());
                }
                return outputs(arms, prob);
            },
            py::arg("contexts"), py::arg("k"), py::arg("available"), py::arg("per_request"), py::arg("rule"),
            py::arg("scale"), py::arg("n_mc"), py::arg("new_arm_share"), py::arg("new_arm_pulls"),
            py::arg("num_threads"));
    common_methods<LinearBandit>(linear);

    // ------------------------------------------------------------ hybrid
    py::class_<HybridBandit> hybrid(m, "HybridBandit");
    hybrid
        .def(py::init<int64_t, int64_t, int64_t, double, uint64_t>(), py::arg("n_arms"), py::arg("n_context"),
             py::arg("n_arm_features"), py::arg("l2"), py::arg("seed"))
        .def(
            "reset",
            [](HybridBandit& p, uint64_t seed) {
                std::lock_guard<std::mutex> lock(p.guard);
                p.reset(seed);
            },
            py::arg("seed"))
        .def(
            "add_arm",
            // Sizes come from the state, never from the caller: a size that disagrees
            // with the state's buffers would read past them.
            [](HybridBandit& p, const OptArray<double>& prior, const OptArray<double>& features) {
                if (prior)
                    require(prior->size() == p.n_context(), "prior: expected one value per context feature");
                if (features)
                    require(features->size() == p.n_arm_features(),
                            "features: expected n_arm_features values");
                std::lock_guard<std::mutex> lock(p.guard);
                return p.add_arm(prior ? prior->data() : nullptr, features ? features->data() : nullptr);
            },
            py::arg("prior"), py::arg("features"))
        .def(
            "set_features",
            [](HybridBandit& p, const Array<int64_t>& arms, const Array<double>& features) {
                require_ndim(features, 2, "features");
                require(features.shape(0) == arms.size() && features.shape(1) == p.n_arm_features(),
                        "features: expected one row of n_arm_features per arm id");
                std::lock_guard<std::mutex> lock(p.guard);
                p.set_features(arms.data(), arms.size(), features.data());
            },
            py::arg("arms"), py::arg("features"))
        .def(
            "update",
            [](HybridBandit& p, const Array<int64_t>& arms, const Array<double>& rewards,
               const Array<double>& X) {
                require_ndim(X, 2, "contexts");
                require(
                    arms.size() == rewards.size() && X.shape(0) == arms.size() && X.shape(1) == p.n_context(),
                    "actions, rewards and contexts do not match");
                py::gil_scoped_release release;
                std::lock_guard<std::mutex> lock(p.guard);
                p.update(arms.data(), rewards.data(), X.data(), arms.size());
            },
            py::arg("arms"), py::arg("rewards"), py::arg("contexts"))
        .def(
            "fit",
            [](HybridBandit& p, const Array<int64_t>& arms, const Array<double>& rewards,
               const Array<double>& X, uint64_t seed) {
                require_ndim(X, 2, "contexts");
                require(
                    arms.size() == rewards.size() && X.shape(0) == arms.size() && X.shape(1) == p.n_context(),
                    "decisions, rewards and contexts do not match");
                py::gil_scoped_release release;
                std::lock_guard<std::mutex> lock(p.guard);
                p.fit(arms.data(), rewards.data(), X.data(), arms.size(), seed);
            },
            py::arg("arms"), py::arg("rewards"), py::arg("contexts"), py::arg("seed"))
        .def(
            "select",
            [](HybridBandit& p, const Array<double>& X, int64_t k, const OptArray<uint8_t>& available,
               bool per_request, double alpha, int direct, double share, int64_t new_pulls, int num_threads) {
                require_ndim(X, 2, "contexts");
                require(X.shape(1) == p.n_context(), "contexts: wrong number of features");
                const int64_t n = X.shape(0);
                SelectConfig cfg = make_config(k, 0, share, new_pulls, num_threads);
                cfg.rule = Rule::Greedy;
                Array<int64_t> arms({n, k});
                Array<double> prob({n, k});
                {
                    py::gil_scoped_release release;
                    std::lock_guard<std::mutex> lock(p.guard);
                    Availability av = availability(available, per_request, n, p.core.arms.n_slots());
                    p.select(X.data(), n, av, cfg, alpha, direct, arms.mutable_data(), prob.mutable_data());
                }
                return outputs(arms, prob);
            },
            py::arg("contexts"), py::arg("k"), py::arg("available"), py::arg("per_request"), py::arg("alpha"),
            py::arg("direct"), py::arg("new_arm_share"), py::arg("new_arm_pulls"), py::arg("num_threads"));
    common_methods<HybridBandit>(hybrid);
}

}  // namespace reelrec::bind
