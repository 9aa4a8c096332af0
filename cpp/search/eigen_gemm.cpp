#include "search/eigen_gemm.hpp"

#include <Eigen/Core>

namespace reelrec::search {

void eigen_gemm_nt(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k) {
    using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Eigen::Map<const RowMat> A(a, m, k), B(b, n, k);
    Eigen::Map<RowMat> C(c, m, n);
    C.noalias() = A * B.transpose();
}

}  // namespace reelrec::search
