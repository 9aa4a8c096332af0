// reelrec._core: the one private extension module. Each area registers its
// functions from its own binding file so that a reader goes Python class ->
// cpp/bindings/<area>.cpp -> cpp/<area>/ in two hops.
#include <pybind11/pybind11.h>

#include "common/parallel.hpp"

namespace py = pybind11;

namespace reelrec::bind {
void bind_topk(py::module_& m);
void bind_metrics(py::module_& m);
void bind_factorization(py::module_& m);
void bind_mf(py::module_& m);
void bind_similarity(py::module_& m);
void bind_search(py::module_& m);
void bind_bandits(py::module_& m);
void bind_ope(py::module_& m);
}  // namespace reelrec::bind

#ifndef REELREC_VERSION
#define REELREC_VERSION "dev"
#endif

PYBIND11_MODULE(_core, m) {
    m.doc() = "reelrec native kernels (private; use the reelrec package)";
    m.attr("__version__") = REELREC_VERSION;
    m.def("openmp_enabled", &reelrec::openmp_enabled, "Whether the module was built with OpenMP.");
    m.def(
        "max_threads", [] { return reelrec::resolve_threads(0); },
        "Threads a kernel uses for num_threads=0 (honours OMP_NUM_THREADS).");
    reelrec::bind::bind_topk(m);
    reelrec::bind::bind_metrics(m);
    reelrec::bind::bind_factorization(m);
    reelrec::bind::bind_mf(m);
    reelrec::bind::bind_similarity(m);
    reelrec::bind::bind_search(m);
    reelrec::bind::bind_bandits(m);
    reelrec::bind::bind_ope(m);
}
