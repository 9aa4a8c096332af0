// Bindings for reelrec.search: ExactIndex and HnswIndex.
//
// Python (reelrec/search/) validates every argument and raises precise
// errors; this file only re-checks shapes that would otherwise crash, releases
// the GIL around every call that touches vectors, and maps the core's error
// types onto Python's (unknown id -> KeyError, I/O -> OSError, format and
// argument errors -> ValueError).
#include <fstream>
#include <functional>
#include <sstream>

#include "bindings/common.hpp"
#include "search/eigen_gemm.hpp"
#include "search/exact_index.hpp"
#include "search/hnsw_index.hpp"

namespace reelrec::bind {

namespace {

using search::ExactIndex;
using search::FilterSpec;
using search::HnswIndex;
using search::HnswParams;

class IoError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Keeps the id arrays alive while the GIL is released.
struct Filter {
    FilterSpec spec;
    OptArray<int64_t> allow, deny, exclude_indptr, exclude_ids;
};

Filter make_filter(OptArray<int64_t> allow, OptArray<int64_t> deny, OptArray<int64_t> exclude_indptr,
                   OptArray<int64_t> exclude_ids, int64_t n_q) {
    Filter f{{}, std::move(allow), std::move(deny), std::move(exclude_indptr), std::move(exclude_ids)};
    if (f.allow) {
        f.spec.has_allow = true;
        f.spec.allow = f.allow->data();
        f.spec.n_allow = f.allow->size();
    }
    if (f.deny) {
        f.spec.deny = f.deny->data();
        f.spec.n_deny = f.deny->size();
    }
    if (f.exclude_indptr) {
        require(static_cast<bool>(f.exclude_ids), "exclude: indptr given without ids");
        require(f.exclude_indptr->ndim() == 1 && f.exclude_indptr->shape(0) == n_q + 1,
                "exclude: expected one row per query");
        const int64_t* p = f.exclude_indptr->data();
        require(p[0] == 0 && p[n_q] == f.exclude_ids->size(), "exclude: indptr does not match ids");
        for (int64_t q = 0; q < n_q; ++q) require(p[q] <= p[q + 1], "exclude: indptr must be non-decreasing");
        f.spec.exclude_indptr = p;
        f.spec.exclude_ids = f.exclude_ids->data();
    }
    return f;
}

void check_matrix(const Array<float>& a, int64_t dim, const char* name) {
    require_ndim(a, 2, name);
    require(a.shape(1) == dim, std::string(name) + ": expected " + std::to_string(dim) + " columns, got " +
                                   std::to_string(a.shape(1)));
}

std::vector<int64_t> checked_ids(const Array<int64_t>& ids, int64_t n) {
    require_ndim(ids, 1, "ids");
    require(ids.shape(0) == n, "ids: expected one id per vector");
    return std::vector<int64_t>(ids.data(), ids.data() + n);
}

uint64_t stream_size(std::istream& in) {
    in.seekg(0, std::ios::end);
    const auto end = in.tellg();
    in.seekg(0, std::ios::beg);
    if (end < 0) throw IoError("could not determine the file size");
    return static_cast<uint64_t>(end);
}

template <class F>
void write_file(const std::string& path, F&& write) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw IoError("path: cannot open '" + path + "' for writing");
    try {
        write(out);
    } catch (const std::runtime_error& e) {
        throw IoError("path: writing '" + path + "' failed: " + e.what());
    }
}

std::ifstream open_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError("path: cannot open '" + path + "' for reading");
    return in;
}

py::array_t<float> vectors_of(int64_t dim, const Array<int64_t>& ids,
                              const std::function<void(const int64_t*, int64_t, float*)>& get) {
    require_ndim(ids, 1, "ids");
    Array<float> out({static_cast<int64_t>(ids.shape(0)), dim});
    float* dst = out.mutable_data();
    {
        py::gil_scoped_release release;
        get(ids.data(), ids.shape(0), dst);
    }
    return out;
}

}  // namespace

void bind_search(py::module_& m) {
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const search::UnknownIdError& e) {
            PyErr_SetString(PyExc_KeyError, e.what());
        } catch (const IoError& e) {
            PyErr_SetString(PyExc_OSError, e.what());
        }
    });

    m.def("search_simd_level", [] { return search::simd_name(search::active_simd()); },
          "Instruction set the search kernels dispatch to on this CPU.");

    m.def(
        "search_eigen_gemm_nt",
        [](const Array<float>& a, const Array<float>& b) {
            require_ndim(a, 2, "a");
            require_ndim(b, 2, "b");
            require(a.shape(1) == b.shape(1), "a and b differ in columns");
            const int64_t mm = a.shape(0), nn = b.shape(0), kk = a.shape(1);
            Array<float> c({mm, nn});
            float* dst = c.mutable_data();
            {
                py::gil_scoped_release release;
                search::eigen_gemm_nt(a.data(), b.data(), dst, mm, nn, kk);
            }
            return c;
        },
        py::arg("a"), py::arg("b"), "a @ b.T through Eigen on one thread (benchmark reference).");

    // ------------------------------------------------------------ ExactIndex
    py::class_<ExactIndex>(m, "ExactIndex")
        .def(py::init([](int64_t dim, const std::string& metric) {
                 return std::make_unique<ExactIndex>(dim, search::parse_metric(metric));
             }),
             py::arg("dim"), py::arg("metric"))
        .def_property_readonly("dim", &ExactIndex::dim)
        .def_property_readonly("metric", [](const ExactIndex& self) { return search::metric_name(self.metric()); })
        .def_property_readonly("simd", [](const ExactIndex& self) { return search::simd_name(self.simd()); })
        .def("size", &ExactIndex::size)
        .def("next_id", &ExactIndex::next_id)
        .def("contains", &ExactIndex::contains, py::arg("id"))
        .def("ids",
             [](const ExactIndex& self) {
                 std::vector<int64_t> ids;
                 {
                     py::gil_scoped_release release;
                     ids = self.ids();
                 }
                 return Array<int64_t>(static_cast<py::ssize_t>(ids.size()), ids.data());
             })
        .def(
            "get_vectors",
            [](const ExactIndex& self, const Array<int64_t>& ids) {
                return vectors_of(self.dim(), ids,
                                  [&](const int64_t* i, int64_t n, float* out) { self.get_vectors(i, n, out); });
            },
            py::arg("ids"))
        .def(
            "add",
            [](ExactIndex& self, const Array<float>& vectors, const Array<int64_t>& ids) {
                check_matrix(vectors, self.dim(), "vectors");
                const int64_t n = vectors.shape(0);
                std::vector<int64_t> id_copy = checked_ids(ids, n);
                py::gil_scoped_release release;
                self.add(vectors.data(), n, id_copy.data());
            },
            py::arg("vectors"), py::arg("ids"))
        .def(
            "remove",
            [](ExactIndex& self, const Array<int64_t>& ids) {
                require_ndim(ids, 1, "ids");
                py::gil_scoped_release release;
                self.remove(ids.data(), ids.shape(0));
            },
            py::arg("ids"))
        .def(
            "search",
            [](const ExactIndex& self, const Array<float>& queries, int64_t k, OptArray<int64_t> allow,
               OptArray<int64_t> deny, OptArray<int64_t> exclude_indptr, OptArray<int64_t> exclude_ids,
               int num_threads) {
                check_matrix(queries, self.dim(), "queries");
                require(k > 0, "k: expected a positive integer");
                const int64_t n_q = queries.shape(0);
                Filter f = make_filter(std::move(allow), std::move(deny), std::move(exclude_indptr),
                                       std::move(exclude_ids), n_q);
                Array<int64_t> ids({n_q, k});
                Array<float> scores({n_q, k});
                int64_t* ids_ptr = ids.mutable_data();
                float* scores_ptr = scores.mutable_data();
                {
                    py::gil_scoped_release release;
                    self.search(queries.data(), n_q, k, f.spec, ids_ptr, scores_ptr, num_threads);
                }
                return py::make_tuple(ids, scores);
            },
            py::arg("queries"), py::arg("k"), py::arg("allow"), py::arg("deny"), py::arg("exclude_indptr"),
            py::arg("exclude_ids"), py::arg("num_threads"))
        .def(
            "save",
            [](const ExactIndex& self, const std::string& path, int32_t num_threads) {
                py::gil_scoped_release release;
                write_file(path, [&](std::ostream& out) { self.save(out, num_threads); });
            },
            py::arg("path"), py::arg("num_threads"))
        .def(
            "to_bytes",
            [](const ExactIndex& self, int32_t num_threads) {
                std::ostringstream out;
                {
                    py::gil_scoped_release release;
                    self.save(out, num_threads);
                }
                return py::bytes(out.str());
            },
            py::arg("num_threads"))
        .def_static(
            "load",
            [](const std::string& path) {
                int32_t num_threads = 0;
                std::unique_ptr<ExactIndex> index;
                {
                    py::gil_scoped_release release;
                    std::ifstream in = open_file(path);
                    const uint64_t size = stream_size(in);
                    index = ExactIndex::load(in, size, num_threads);
                }
                return py::make_tuple(std::move(index), num_threads);
            },
            py::arg("path"))
        .def_static(
            "from_bytes",
            [](const py::bytes& data) {
                std::istringstream in(static_cast<std::string>(data));
                int32_t num_threads = 0;
                std::unique_ptr<ExactIndex> index;
                {
                    py::gil_scoped_release release;
                    index = ExactIndex::load(in, stream_size(in), num_threads);
                }
                return py::make_tuple(std::move(index), num_threads);
            },
            py::arg("data"));

    // ------------------------------------------------------------- HnswIndex
    py::class_<HnswIndex>(m, "HnswIndex")
        .def(py::init([](int64_t dim, const std::string& metric, int64_t M, int64_t ef_construction, int64_t ef,
                         int64_t max_elements, uint64_t seed) {
                 HnswParams p;
                 p.dim = dim;
                 p.metric = search::parse_metric(metric);
                 p.M = M;
                 p.ef_construction = ef_construction;
                 p.ef = ef;
                 p.max_elements = max_elements;
                 p.seed = seed;
                 return std::make_unique<HnswIndex>(p);
             }),
             py::arg("dim"), py::arg("metric"), py::arg("M"), py::arg("ef_construction"), py::arg("ef"),
             py::arg("max_elements"), py::arg("seed"))
        .def_property_readonly("dim", [](const HnswIndex& self) { return self.params().dim; })
        .def_property_readonly("metric", [](const HnswIndex& self) { return search::metric_name(self.params().metric); })
        .def_property_readonly("M", [](const HnswIndex& self) { return self.params().M; })
        .def_property_readonly("ef_construction", [](const HnswIndex& self) { return self.params().ef_construction; })
        .def_property_readonly("max_elements", [](const HnswIndex& self) { return self.params().max_elements; })
        .def_property_readonly("seed", [](const HnswIndex& self) { return self.params().seed; })
        .def_property_readonly("simd", [](const HnswIndex& self) { return search::simd_name(self.simd()); })
        .def_property("ef", &HnswIndex::ef, &HnswIndex::set_ef)
        .def("size", &HnswIndex::size)
        .def("n_deleted", &HnswIndex::n_deleted)
        .def("next_id", &HnswIndex::next_id)
        .def("max_level", &HnswIndex::max_level)
        .def("contains", &HnswIndex::contains, py::arg("id"))
        .def("ids",
             [](const HnswIndex& self) {
                 std::vector<int64_t> ids;
                 {
                     py::gil_scoped_release release;
                     ids = self.ids();
                 }
                 return Array<int64_t>(static_cast<py::ssize_t>(ids.size()), ids.data());
             })
        .def(
            "get_vectors",
            [](const HnswIndex& self, const Array<int64_t>& ids) {
                return vectors_of(self.params().dim, ids,
                                  [&](const int64_t* i, int64_t n, float* out) { self.get_vectors(i, n, out); });
            },
            py::arg("ids"))
        .def(
            "add",
            [](HnswIndex& self, const Array<float>& vectors, const Array<int64_t>& ids, int num_threads) {
                check_matrix(vectors, self.params().dim, "vectors");
                const int64_t n = vectors.shape(0);
                std::vector<int64_t> id_copy = checked_ids(ids, n);
                py::gil_scoped_release release;
                self.add(vectors.data(), n, id_copy.data(), num_threads);
            },
            py::arg("vectors"), py::arg("ids"), py::arg("num_threads"))
        .def(
            "remove",
            [](HnswIndex& self, const Array<int64_t>& ids) {
                require_ndim(ids, 1, "ids");
                py::gil_scoped_release release;
                self.remove(ids.data(), ids.shape(0));
            },
            py::arg("ids"))
        .def(
            "search",
            [](const HnswIndex& self, const Array<float>& queries, int64_t k, int64_t ef, OptArray<int64_t> allow,
               OptArray<int64_t> deny, OptArray<int64_t> exclude_indptr, OptArray<int64_t> exclude_ids,
               int num_threads) {
                check_matrix(queries, self.params().dim, "queries");
                require(k > 0, "k: expected a positive integer");
                const int64_t n_q = queries.shape(0);
                Filter f = make_filter(std::move(allow), std::move(deny), std::move(exclude_indptr),
                                       std::move(exclude_ids), n_q);
                Array<int64_t> ids({n_q, k});
                Array<float> scores({n_q, k});
                int64_t* ids_ptr = ids.mutable_data();
                float* scores_ptr = scores.mutable_data();
                {
                    py::gil_scoped_release release;
                    self.search(queries.data(), n_q, k, ef, f.spec, ids_ptr, scores_ptr, num_threads);
                }
                return py::make_tuple(ids, scores);
            },
            py::arg("queries"), py::arg("k"), py::arg("ef"), py::arg("allow"), py::arg("deny"),
            py::arg("exclude_indptr"), py::arg("exclude_ids"), py::arg("num_threads"))
        .def(
            "uses_exact",
            [](const HnswIndex& self, OptArray<int64_t> allow, OptArray<int64_t> deny, int64_t k, int64_t ef) {
                Filter f = make_filter(std::move(allow), std::move(deny), std::nullopt, std::nullopt, 0);
                py::gil_scoped_release release;
                return self.uses_exact(f.spec, k, ef);
            },
            py::arg("allow"), py::arg("deny"), py::arg("k"), py::arg("ef"))
        .def(
            "save",
            [](const HnswIndex& self, const std::string& path, int64_t random_state, int32_t num_threads) {
                py::gil_scoped_release release;
                write_file(path, [&](std::ostream& out) { self.save(out, random_state, num_threads); });
            },
            py::arg("path"), py::arg("random_state"), py::arg("num_threads"))
        .def(
            "to_bytes",
            [](const HnswIndex& self, int64_t random_state, int32_t num_threads) {
                std::ostringstream out;
                {
                    py::gil_scoped_release release;
                    self.save(out, random_state, num_threads);
                }
                return py::bytes(out.str());
            },
            py::arg("random_state"), py::arg("num_threads"))
        .def_static(
            "load",
            [](const std::string& path) {
                int64_t random_state = -1;
                int32_t num_threads = 0;
                std::unique_ptr<HnswIndex> index;
                {
                    py::gil_scoped_release release;
                    std::ifstream in = open_file(path);
                    const uint64_t size = stream_size(in);
                    index = HnswIndex::load(in, size, random_state, num_threads);
                }
                return py::make_tuple(std::move(index), random_state, num_threads);
            },
            py::arg("path"))
        .def_static(
            "from_bytes",
            [](const py::bytes& data) {
                std::istringstream in(static_cast<std::string>(data));
                int64_t random_state = -1;
                int32_t num_threads = 0;
                std::unique_ptr<HnswIndex> index;
                {
                    py::gil_scoped_release release;
                    index = HnswIndex::load(in, stream_size(in), random_state, num_threads);
                }
                return py::make_tuple(std::move(index), random_state, num_threads);
            },
            py::arg("data"));
}

}  // namespace reelrec::bind
