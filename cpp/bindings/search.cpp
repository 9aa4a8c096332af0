// Bindings for reelrec.search: ExactIndex and HnswIndex.
//
// Python (reelrec/search/) validates every argument and raises precise
// errors; this file only re-checks shapes that would otherwise crash, releases
// the GIL around every call that touches vectors, and maps the core's error
// types onto Python's (unknown id -> KeyError, I/O -> OSError, format and
// argument errors -> ValueError).
#include <fstream>
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

// The rest of this section serves both index types: whatever differs between
// them (extra parameters, the call itself) comes in as a callable.

// write(stream) / read(stream, size) run with the GIL released.
template <class Write>
void save_to_path(const std::string& path, Write&& write) {
    py::gil_scoped_release release;
    write_file(path, write);
}

template <class Write>
py::bytes save_to_bytes(Write&& write) {
    std::ostringstream out;
    {
        py::gil_scoped_release release;
        write(out);
    }
    return py::bytes(out.str());
}

// Index::load on the stream open() returns, with the GIL released. Returns
// (index, *params): the Python-side parameters stored with the index, read
// into params (given with their defaults).
template <class Index, class Open, class... Params>
py::tuple load_index(Open&& open, Params... params) {
    std::unique_ptr<Index> index;
    {
        py::gil_scoped_release release;
        auto in = open();
        const uint64_t size = stream_size(in);
        index = Index::load(in, size, params...);
    }
    return py::make_tuple(std::move(index), params...);
}

// add(vectors, n, ids) after the shape checks, with the GIL released.
template <class Add>
void add_checked(int64_t dim, const Array<float>& vectors, const Array<int64_t>& ids, Add&& add) {
    check_matrix(vectors, dim, "vectors");
    const int64_t n = vectors.shape(0);
    std::vector<int64_t> id_copy = checked_ids(ids, n);
    py::gil_scoped_release release;
    add(vectors.data(), n, id_copy.data());
}

// search(queries, n_q, spec, out_ids, out_scores) into fresh n_q x k arrays.
template <class Search>
py::tuple search_checked(int64_t dim, const Array<float>& queries, int64_t k, OptArray<int64_t> allow,
                         OptArray<int64_t> deny, OptArray<int64_t> exclude_indptr,
                         OptArray<int64_t> exclude_ids, Search&& search) {
    check_matrix(queries, dim, "queries");
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
        search(queries.data(), n_q, f.spec, ids_ptr, scores_ptr);
    }
    return py::make_tuple(ids, scores);
}

// Properties and methods whose bindings are the same for both index types.
template <class Index>
void def_common(py::class_<Index>& cls) {
    cls.def_property_readonly("dim", &Index::dim)
        .def_property_readonly("metric", [](const Index& self) { return search::metric_name(self.metric()); })
        .def_property_readonly("simd", [](const Index& self) { return search::simd_name(self.simd()); })
        .def("size", &Index::size)
        .def("next_id", &Index::next_id)
        .def("contains", &Index::contains, py::arg("id"))
        .def("ids",
             [](const Index& self) {
                 std::vector<int64_t> ids;
                 {
                     py::gil_scoped_release release;
                     ids = self.ids();
                 }
                 return Array<int64_t>(static_cast<py::ssize_t>(ids.size()), ids.data());
             })
        .def(
            "get_vectors",
            [](const Index& self, const Array<int64_t>& ids) {
                require_ndim(ids, 1, "ids");
                Array<float> out({static_cast<int64_t>(ids.shape(0)), self.dim()});
                float* dst = out.mutable_data();
                {
                    py::gil_scoped_release release;
                    self.get_vectors(ids.data(), ids.shape(0), dst);
                }
                return out;
            },
            py::arg("ids"))
        .def(
            "remove",
            [](Index& self, const Array<int64_t>& ids) {
                require_ndim(ids, 1, "ids");
                py::gil_scoped_release release;
                self.remove(ids.data(), ids.shape(0));
            },
            py::arg("ids"));
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

    m.def(
        "search_simd_level", [] { return search::simd_name(search::active_simd()); },
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
    py::class_<ExactIndex> exact(m, "ExactIndex");
    def_common(exact);
    exact
        .def(py::init([](int64_t dim, const std::string& metric) {
                 return std::make_unique<ExactIndex>(dim, search::parse_metric(metric));
             }),
             py::arg("dim"), py::arg("metric"))
        .def(
            "add",
            [](ExactIndex& self, const Array<float>& vectors, const Array<int64_t>& ids) {
                add_checked(self.dim(), vectors, ids,
                            [&](const float* v, int64_t n, const int64_t* i) { self.add(v, n, i); });
            },
            py::arg("vectors"), py::arg("ids"))
        .def(
            "search",
            [](const ExactIndex& self, const Array<float>& queries, int64_t k, OptArray<int64_t> allow,
               OptArray<int64_t> deny, OptArray<int64_t> exclude_indptr, OptArray<int64_t> exclude_ids,
               int num_threads) {
                return search_checked(
                    self.dim(), queries, k, std::move(allow), std::move(deny), std::move(exclude_indptr),
                    std::move(exclude_ids),
                    [&](const float* q, int64_t n_q, const FilterSpec& spec, int64_t* ids, float* scores) {
                        self.search(q, n_q, k, spec, ids, scores, num_threads);
                    });
            },
            py::arg("queries"), py::arg("k"), py::arg("allow"), py::arg("deny"), py::arg("exclude_indptr"),
            py::arg("exclude_ids"), py::arg("num_threads"))
        .def(
            "save",
            [](const ExactIndex& self, const std::string& path, int32_t num_threads) {
                save_to_path(path, [&](std::ostream& out) { self.save(out, num_threads); });
            },
            py::arg("path"), py::arg("num_threads"))
        .def(
            "to_bytes",
            [](const ExactIndex& self, int32_t num_threads) {
                return save_to_bytes([&](std::ostream& out) { self.save(out, num_threads); });
            },
            py::arg("num_threads"))
        .def_static(
            "load",
            [](const std::string& path) {
                return load_index<ExactIndex>([&] { return open_file(path); }, int32_t{0});
            },
            py::arg("path"))
        .def_static(
            "from_bytes",
            [](const py::bytes& data) {
                const auto blob = static_cast<std::string>(data);
                return load_index<ExactIndex>([&] { return std::istringstream(blob); }, int32_t{0});
            },
            py::arg("data"));

    // ------------------------------------------------------------- HnswIndex
    py::class_<HnswIndex> hnsw(m, "HnswIndex");
    def_common(hnsw);
    hnsw.def(py::init([](int64_t dim, const std::string& metric, int64_t M, int64_t ef_construction,
                         int64_t ef, int64_t max_elements, uint64_t seed) {
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
        .def_property_readonly("M", [](const HnswIndex& self) { return self.params().M; })
        .def_property_readonly("ef_construction",
                               [](const HnswIndex& self) { return self.params().ef_construction; })
        .def_property_readonly("max_elements",
                               [](const HnswIndex& self) { return self.params().max_elements; })
        .def_property_readonly("seed", [](const HnswIndex& self) { return self.params().seed; })
        .def_property("ef", &HnswIndex::ef, &HnswIndex::set_ef)
        .def("n_deleted", &HnswIndex::n_deleted)
        .def("max_level", &HnswIndex::max_level)
        .def(
            "add",
            [](HnswIndex& self, const Array<float>& vectors, const Array<int64_t>& ids, int num_threads) {
                add_checked(self.dim(), vectors, ids, [&](const float* v, int64_t n, const int64_t* i) {
                    self.add(v, n, i, num_threads);
                });
            },
            py::arg("vectors"), py::arg("ids"), py::arg("num_threads"))
        .def(
            "search",
            [](const HnswIndex& self, const Array<float>& queries, int64_t k, int64_t ef,
               OptArray<int64_t> allow, OptArray<int64_t> deny, OptArray<int64_t> exclude_indptr,
               OptArray<int64_t> exclude_ids, int num_threads) {
                return search_checked(
                    self.dim(), queries, k, std::move(allow), std::move(deny), std::move(exclude_indptr),
                    std::move(exclude_ids),
                    [&](const float* q, int64_t n_q, const FilterSpec& spec, int64_t* ids, float* scores) {
                        self.search(q, n_q, k, ef, spec, ids, scores, num_threads);
                    });
            },
            py::arg("queries"), py::arg("k"), py::arg("ef"), py::arg("allow"), py::arg("deny"),
            py::arg("exclude_indptr"), py::arg("exclude_ids"), py::arg("num_threads"))
        .def(
            "uses_exact",
            [](const HnswIndex& self, OptArray<int64_t> allow, OptArray<int64_t> deny, int64_t k,
               int64_t ef) {
                Filter f = make_filter(std::move(allow), std::move(deny), std::nullopt, std::nullopt, 0);
                py::gil_scoped_release release;
                return self.uses_exact(f.spec, k, ef);
            },
            py::arg("allow"), py::arg("deny"), py::arg("k"), py::arg("ef"))
        .def(
            "save",
            [](const HnswIndex& self, const std::string& path, int64_t random_state, int32_t num_threads) {
                save_to_path(path, [&](std::ostream& out) { self.save(out, random_state, num_threads); });
            },
            py::arg("path"), py::arg("random_state"), py::arg("num_threads"))
        .def(
            "to_bytes",
            [](const HnswIndex& self, int64_t random_state, int32_t num_threads) {
                return save_to_bytes([&](std::ostream& out) { self.save(out, random_state, num_threads); });
            },
            py::arg("random_state"), py::arg("num_threads"))
        .def_static(
            "load",
            [](const std::string& path) {
                return load_index<HnswIndex>([&] { return open_file(path); }, int64_t{-1}, int32_t{0});
            },
            py::arg("path"))
        .def_static(
            "from_bytes",
            [](const py::bytes& data) {
                const auto blob = static_cast<std::string>(data);
                return load_index<HnswIndex>([&] { return std::istringstream(blob); }, int64_t{-1},
                                             int32_t{0});
            },
            py::arg("data"));
}

}  // namespace reelrec::bind
