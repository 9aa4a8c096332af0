// Register-blocked score kernel for exact search: a block of queries against a
// panel of 16 items stored dimension-major (panel[t * 16 + j] = item j, dim t).
//
// Why this layout: ExactIndex stores its vectors in these panels from the
// start, so a search never packs or transposes anything. Each step of the
// kernel loads 16 item values once and broadcasts one value per query, which is
// the classic GEMM micro-kernel shape (rows x 16 accumulators kept in
// registers): it runs at the FMA throughput of the core, while the top-k
// selection reads the 16 x rows scores straight from L1.
//
// Every score is accumulated in the same order (t = 0..d-1, one fused or
// unfused multiply-add per step) whatever the block a query falls in, so
// results do not depend on batch composition or thread count.
#pragma once

#include <cstdint>

#include "search/distance.hpp"

namespace reelrec::search {

constexpr int kPanelWidth = 16;

// For r < rows, j < 16:
//   out[r * 16 + j] = <q_r, item_j>                    (norms == nullptr)
//   out[r * 16 + j] = 2 <q_r, item_j> - norms[j]        (l2: the distance up to -|q|^2)
// and bit j of masks[r] is set when out[r * 16 + j] >= thresholds[r], so the
// caller only looks at scores that can enter a top-k heap. q_r = q + r * ldq.
using PanelKernel = void (*)(const float* q, int64_t ldq, int rows, int64_t d, const float* panel,
                             const float* norms, const float* thresholds, float* out, uint32_t* masks);

struct PanelKernelInfo {
    PanelKernel kernel;
    int max_rows;  // largest `rows` the kernel accepts
};

PanelKernelInfo panel_kernel(SimdLevel level);

}  // namespace reelrec::search
