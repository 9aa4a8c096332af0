// Neighbourhood similarities: preparation of the vectors and the all-pairs top-k.
//
// Papers: item-based top-N (Sarwar et al. 2001; Deshpande & Karypis 2004),
// asymmetric cosine (Aiolli 2013), TF-IDF/BM25 weighting as in the implicit
// library's item-item recommenders (documents = the vectors being compared,
// terms = the features they are described by), RP3beta (Paudel et al. 2017).
//
// Choices
// - A "vector" is what gets neighbours (an item for ItemKNN, a user for UserKNN),
//   a "feature" is what describes it (users for items, items for users). The
//   caller passes both orientations of the interaction matrix.
// - Similarity of vectors q and b: acc = <x_q, x_b> accumulated sparsely, then
//     product: acc / (f_q * g_b + shrinkage)   (cosine, centred cosines, asym. cosine, RP3beta)
//     jaccard: acc / (f_q + g_b - acc + shrinkage)   (f, g = set sizes, values binary)
//     none:    acc
//   with per-vector factors computed by the caller, so one kernel serves all.
// - Candidates of q are the vectors sharing at least one feature with q; exact
//   zero similarities are dropped and q itself can be excluded. The k kept are
//   the k best in TopKHeap's order (ties keep the lower index), selected in
//   linear time (see RowSelector in the .cpp) and emitted sorted by index, ready
//   to be CSR rows. Results do not depend on the thread count: each row is
//   computed by one thread in a fixed order.
// - Per row, a dense float accumulator with a touched list (Gustavson). Rows
//   whose work exceeds half the base scan the accumulator instead of tracking
//   touched entries, which is cheaper for dense rows. For fits, base vectors
//   are relabelled by decreasing frequency and queries run densest first, which
//   keeps the hot part of the accumulator and the shared feature rows in cache.
//
// Complexity: time O(sum over features of (vectors per feature)^2) for all
// rows plus O(candidates + k log k) per row (linear-time selection); memory
// O(threads * n_base) scratch, O(nnz) for the relabelled base, plus the n_q x k
// result. Never a dense n x n matrix.
#pragma once

#include <cstdint>
#include <vector>

#include "common/csr.hpp"

namespace reelrec::similarity {

enum class Weighting { kNone, kTfidf, kBm25 };
enum class Centering { kNone, kVectorMean, kFeatureMean };
enum class Denominator { kNone, kProduct, kJaccard };

struct PrepareOptions {
    Weighting weighting = Weighting::kNone;
    double bm25_k1 = 1.2;
    double bm25_b = 0.75;
    Centering centering = Centering::kNone;
    bool binary = false;  // replace every prepared value by 1 (set similarities)
};

// What a new vector needs to be prepared like the training vectors.
struct VectorStats {
    int64_t n_vectors = 0;
    std::vector<float> feature_idf;   // per feature; empty without weighting
    double avg_length = 0.0;          // mean raw vector sum (BM25)
    std::vector<float> feature_mean;  // per feature; empty unless kFeatureMean
};

// Prepares training vectors. `vectors` (n_vec x n_feat) and `features` (its
// transpose) must hold the same raw values. Writes the prepared values for both
// orientations (same sparsity as the inputs) and each vector's sum of squares.
VectorStats prepare_training(const CsrView& vectors, const CsrView& features, const PrepareOptions& opt,
                             float* vector_values, float* feature_values, float* sq_norm, int num_threads);

// Prepares new vectors (rows over the same features) with training statistics.
void prepare_rows(const CsrView& rows, const VectorStats& stats, const PrepareOptions& opt, float* values,
                  float* sq_norm, int num_threads);

struct NeighbourOptions {
    Denominator denominator = Denominator::kProduct;
    const float* query_factor = nullptr;  // n_q
    const float* base_factor = nullptr;   // n_base
    float shrinkage = 0.0f;
};

// For each query row of `queries` (n_q x n_features, prepared values), the k
// most similar base vectors, where `base_by_feature` (n_features x n_base) lists
// the base vectors of each feature with prepared values. exclude[q] (nullable,
// -1 for none) is never returned for query q. Writes n_q x k ids/scores: each
// row's kept neighbours sorted by id (not by score), then -1 / -inf padding.
void neighbours_topk(const CsrView& queries, const CsrView& base_by_feature, const NeighbourOptions& opt,
                     const int64_t* exclude, int64_t k, int32_t* out_ids, float* out_scores, int num_threads);

// Number of valid (id >= 0) entries in each padded top-k row.
void topk_row_counts(const int32_t* ids, int64_t n_rows, int64_t k, int64_t* indptr);

// Compacts padded neighbour rows (as written by neighbours_topk, sorted by id)
// into CSR; indptr comes from topk_row_counts.
void topk_to_csr(const int32_t* ids, const float* scores, int64_t n_rows, int64_t k, const int64_t* indptr,
                 int32_t* out_indices, float* out_data, int num_threads);

}  // namespace reelrec::similarity
