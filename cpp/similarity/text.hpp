// Word n-gram counting for TF-IDF features (the native half of
// reelrec.features.TfidfFeaturizer).
//
// Reference: scikit-learn's CountVectorizer/TfidfVectorizer analyzer="word";
// the output must equal it term for term.
//
// Choices
// - Tokens are maximal runs of word characters with at least min_token_chars
//   code points: exactly what the regex (?u)\b\w\w+\b (or \b\w+\b) finds.
//   ASCII word characters are built in; for other code points Python passes a
//   0x110000-entry table computed with its own `re` module, so the definition of
//   \w is Python's. Lowercasing of non-ASCII text happens in Python (str.lower
//   has context rules); here only ASCII is folded.
// - n-grams are tokens joined by one space, as scikit-learn does.
// - Counting runs per thread with a private open-addressing table over an
//   arena (no allocation per lookup); the tables are merged by hashing in
//   parallel (each thread owns a hash partition of the terms), terms
//   outside min_df / max_df / max_features are dropped, and only the survivors
//   are sorted bytewise, which for UTF-8 equals Python's code-point order, so
//   term ids do not depend on the thread count.
//
// Complexity: O(total text bytes * ngram span) time plus O(V log V) to sort
// the V kept terms; memory O(vocabulary bytes per thread + nnz of the counts).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "similarity/sparse.hpp"

namespace reelrec::similarity {

// Open-addressing hash table of byte strings; ids are dense in insertion order.
class TermTable {
public:
    TermTable() { rehash(64); }
    int64_t size() const { return static_cast<int64_t>(offsets_.size()) - 1; }
    std::string_view term(int64_t id) const {
        return {arena_.data() + offsets_[id], static_cast<std::size_t>(offsets_[id + 1] - offsets_[id])};
    }
    // Id of `term`, inserting it when absent.
    int32_t insert(std::string_view term) { return insert(term, hash(term)); }
    // Id of `term` or -1.
    int32_t find(std::string_view term) const { return find(term, hash(term)); }
    // The same with the term's hash precomputed, so that callers can prefetch
    // the slot of upcoming terms (the table is larger than the caches).
    int32_t insert(std::string_view term, uint64_t hash);
    int32_t find(std::string_view term, uint64_t hash) const;
    void prefetch(uint64_t hash) const { __builtin_prefetch(slots_.data() + (hash & mask_)); }
    static uint64_t hash(std::string_view s);
    int64_t bytes() const { return static_cast<int64_t>(arena_.size()); }

    // The first 8 bytes of the term as a big-endian integer: orders like the
    // bytes, so sorting compares integers before falling back to memcmp.
    uint64_t prefix(int64_t id) const;

private:
    void rehash(std::size_t capacity);
    std::string arena_;
    std::vector<int64_t> offsets_{0};
    std::vector<uint32_t> hashes_;  // per id (low half of the hash)
    // Slot = (hash high half << 32) | (id + 1); 0 = empty. Keeping hash bits in
    // the slot rejects most mismatches without touching the term arrays.
    std::vector<uint64_t> slots_;
    std::size_t mask_ = 0;
};

struct TextOptions {
    bool lowercase = true;
    int min_token_chars = 2;
    int ngram_min = 1;
    int ngram_max = 1;
    const uint8_t* word_table = nullptr;  // 0x110000 flags for non-ASCII code points, or null
};

// Which terms the vocabulary keeps (scikit-learn's min_df / max_df /
// max_features, with document counts already resolved from proportions).
struct VocabularyLimits {
    int64_t min_df = 1;
    double max_df = 1e300;
    int64_t max_features = -1;  // -1: no limit; ties keep the term that sorts first
};

// Counts n-grams of `docs` and builds the vocabulary of the terms within
// `limits` (ids in sorted term order). Returns docs x vocabulary counts with
// sorted rows; document_frequency gets each kept term's document count and
// n_terms_seen the number of distinct terms before pruning.
CsrMatrix count_fit(const std::vector<std::string_view>& docs, const TextOptions& opt,
                    const VocabularyLimits& limits, TermTable& vocabulary,
                    std::vector<int64_t>& document_frequency, int64_t& n_terms_seen, int num_threads);

// Counts n-grams of `docs` that are in `vocabulary`; others are ignored.
CsrMatrix count_transform(const std::vector<std::string_view>& docs, const TextOptions& opt,
                          const TermTable& vocabulary, int num_threads);

// TF-IDF values of a count matrix (same sparsity), row by row in double:
// tf = count or 1 + ln(count) (sublinear), times idf[term] when idf is given,
// then each row scaled to unit L1 (norm 1) or L2 (norm 2) length.
void tfidf_values(const CsrView& counts, const double* idf, bool sublinear, int norm, float* out,
                  int num_threads);

// The terms whose keep flag is set, in their existing order.
TermTable subset_vocabulary(const TermTable& vocabulary, const uint8_t* keep);

}  // namespace reelrec::similarity
