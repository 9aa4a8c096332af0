#include "similarity/text.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <utility>

#include "common/parallel.hpp"

namespace reelrec::similarity {

// ------------------------------------------------------------------ TermTable

uint64_t TermTable::hash(std::string_view s) {
    // 8 bytes per step with a multiply-xorshift mix: terms are short, so speed
    // of the first few words matters more than avalanche quality. The tail is
    // read with fixed-size loads (a variable-size memcpy becomes a call).
    const char* p = s.data();
    const std::size_t size = s.size();
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (size * 0xff51afd7ed558ccdull);
    std::size_t n = size;
    uint64_t w;
    while (n > 8) {
        std::memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    if (size >= 8) {
        std::memcpy(&w, s.data() + size - 8, 8);  // last 8 bytes, overlapping
    } else {
        w = 0;
        if (n >= 4) {
            uint32_t a, b;
            std::memcpy(&a, p, 4);
            std::memcpy(&b, p + n - 4, 4);
            w = (static_cast<uint64_t>(a) << 32) | b;
        } else if (n > 0) {
            w = (static_cast<uint64_t>(static_cast<unsigned char>(p[0])) << 16) |
                (static_cast<uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8) |
                static_cast<unsigned char>(p[n - 1]);
        }
    }
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 32;
    return h;
}

void TermTable::rehash(std::size_t capacity) {
    std::vector<uint64_t> old;
    old.swap(slots_);
    slots_.assign(capacity, 0);
    mask_ = capacity - 1;
    for (const uint64_t slot : old) {
        if (!slot) continue;
        const uint64_t id = (slot & 0xffffffffu) - 1;
        // slot position from the full hash: high half stored, low half per id
        const uint64_t h = (slot & ~uint64_t{0xffffffffu}) | hashes_[id];
        std::size_t i = h & mask_;
        while (slots_[i]) i = (i + 1) & mask_;
        slots_[i] = slot;
    }
}

int32_t TermTable::insert(std::string_view t, uint64_t h) {
    const uint64_t tag = h & ~uint64_t{0xffffffffu};
    std::size_t i = h & mask_;
    for (;;) {
        const uint64_t slot = slots_[i];
        if (!slot) break;
        if ((slot & ~uint64_t{0xffffffffu}) == tag) {
            const auto id = static_cast<int32_t>((slot & 0xffffffffu) - 1);
            if (hashes_[id] == static_cast<uint32_t>(h) && term(id) == t) return id;
        }
        i = (i + 1) & mask_;
    }
    const auto id = static_cast<int32_t>(size());
    arena_.append(t.data(), t.size());
    offsets_.push_back(static_cast<int64_t>(arena_.size()));
    hashes_.push_back(static_cast<uint32_t>(h));
    slots_[i] = tag | (static_cast<uint64_t>(id) + 1);
    if (static_cast<std::size_t>(size()) * 2 > slots_.size()) rehash(slots_.size() * 2);
    return id;
}

int32_t TermTable::find(std::string_view t, uint64_t h) const {
    const uint64_t tag = h & ~uint64_t{0xffffffffu};
    std::size_t i = h & mask_;
    for (;;) {
        const uint64_t slot = slots_[i];
        if (!slot) return -1;
        if ((slot & ~uint64_t{0xffffffffu}) == tag) {
            const auto id = static_cast<int32_t>((slot & 0xffffffffu) - 1);
            if (hashes_[id] == static_cast<uint32_t>(h) && term(id) == t) return id;
        }
        i = (i + 1) & mask_;
    }
}

uint64_t TermTable::prefix(int64_t id) const {
    const std::string_view t = term(id);
    uint64_t key = 0;
    for (std::size_t j = 0; j < 8; ++j) {
        key <<= 8;
        if (j < t.size()) key |= static_cast<unsigned char>(t[j]);
    }
    return key;
}

TermTable subset_vocabulary(const TermTable& vocabulary, const uint8_t* keep) {
    TermTable out;
    for (int64_t id = 0; id < vocabulary.size(); ++id)
        if (keep[id]) out.insert(vocabulary.term(id));
    return out;
}

// ------------------------------------------------------------------ tokenizer

namespace {

struct AsciiWordTable {
    bool flag[128] = {};
    AsciiWordTable() {
        for (int c = '0'; c <= '9'; ++c) flag[c] = true;
        for (int c = 'a'; c <= 'z'; ++c) flag[c] = true;
        for (int c = 'A'; c <= 'Z'; ++c) flag[c] = true;
        flag[static_cast<int>('_')] = true;
    }
};
const AsciiWordTable kAsciiWord;

// Decodes the code point at s[i]; malformed bytes count as one non-word unit.
inline uint32_t decode_utf8(const unsigned char* s, std::size_t n, std::size_t i, int& len) {
    const unsigned c = s[i];
    if (c < 0x80) {
        len = 1;
        return c;
    }
    if ((c >> 5) == 0x6 && i + 1 < n) {
        len = 2;
        return ((c & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu);
    }
    if ((c >> 4) == 0xE && i + 2 < n) {
        len = 3;
        return ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
    }
    if ((c >> 3) == 0x1E && i + 3 < n) {
        len = 4;
        return ((c & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) | ((s[i + 2] & 0x3Fu) << 6) |
               (s[i + 3] & 0x3Fu);
    }
    len = 1;
    return 0xFFFFFFFFu;
}

class Analyzer {
public:
    explicit Analyzer(const TextOptions& opt) : opt_(opt) {}

    // The n-gram occurrences of doc, valid until the next call.
    const std::vector<std::string_view>& run(std::string_view doc) {
        std::string_view text = doc;
        if (opt_.lowercase) {
            lowered_.assign(doc.data(), doc.size());
            for (char& c : lowered_)
                if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
            text = lowered_;
        }
        tokenize(text);
        const int64_t n_tok = static_cast<int64_t>(tokens_.size());
        grams_buffer_.clear();
        spans_.clear();
        for (int n = opt_.ngram_min; n <= opt_.ngram_max; ++n) {
            for (int64_t i = 0; i + n <= n_tok; ++i) {
                if (n == 1) continue;  // unigrams are views of the text itself
                const std::size_t start = grams_buffer_.size();
                for (int j = 0; j < n; ++j) {
                    if (j) grams_buffer_.push_back(' ');
                    grams_buffer_.append(text.data() + tokens_[i + j].first, tokens_[i + j].second);
                }
                spans_.emplace_back(start, grams_buffer_.size() - start);
            }
        }
        grams_.clear();
        if (opt_.ngram_min == 1) {
            for (const auto& [start, len] : tokens_) grams_.push_back(text.substr(start, len));
        }
        for (const auto& [start, len] : spans_) grams_.emplace_back(grams_buffer_.data() + start, len);
        return grams_;
    }

private:
    inline bool is_word(uint32_t cp) const {
        if (cp < 128) return kAsciiWord.flag[cp];
        return opt_.word_table && cp < 0x110000u && opt_.word_table[cp];
    }

    void tokenize(std::string_view text) {
        tokens_.clear();
        const auto* s = reinterpret_cast<const unsigned char*>(text.data());
        const std::size_t n = text.size();
        std::size_t i = 0;
        while (i < n) {
            int len;
            if (!is_word(decode_utf8(s, n, i, len))) {
                i += static_cast<std::size_t>(len);
                continue;
            }
            const std::size_t start = i;
            int chars = 0;
            while (i < n) {
                if (!is_word(decode_utf8(s, n, i, len))) break;
                i += static_cast<std::size_t>(len);
                ++chars;
            }
            if (chars >= opt_.min_token_chars) tokens_.emplace_back(start, i - start);
        }
    }

    const TextOptions& opt_;
    std::string lowered_, grams_buffer_;
    std::vector<std::pair<std::size_t, std::size_t>> tokens_, spans_;
    std::vector<std::string_view> grams_;
};

// Per-thread output: the documents it processed, in order, and their (term, count) entries.
struct ThreadCounts {
    std::vector<int64_t> docs;
    std::vector<int32_t> terms;
    std::vector<float> counts;
    std::vector<int64_t> df;  // per local term id: documents containing it (fit only)
    std::vector<double> tf;   // per local term id: total count (fit only)
};

// Counts one document: term ids come from lookup(term, hash) (-1 = skip).
// Hashes are computed and their slots prefetched for the whole document
// first, so the table lookups overlap their cache misses.
template <class Lookup>
void count_document(std::string_view doc, Analyzer& analyzer, const TermTable& table, Lookup&& lookup,
                    std::vector<int32_t>& tally, std::vector<int32_t>& touched, std::vector<uint64_t>& hashes,
                    ThreadCounts& out, int64_t& n_terms) {
    touched.clear();
    const std::vector<std::string_view>& grams = analyzer.run(doc);
    hashes.resize(grams.size());
    for (std::size_t i = 0; i < grams.size(); ++i) {
        hashes[i] = TermTable::hash(grams[i]);
        table.prefetch(hashes[i]);
    }
    for (std::size_t i = 0; i < grams.size(); ++i) {
        const int32_t id = lookup(grams[i], hashes[i]);
        if (id < 0) continue;
        if (static_cast<std::size_t>(id) >= tally.size())
            tally.resize(std::max<std::size_t>(2 * tally.size(), id + 1), 0);
        if (tally[id]++ == 0) touched.push_back(id);
    }
    for (const int32_t id : touched) {
        out.terms.push_back(id);
        out.counts.push_back(static_cast<float>(tally[id]));
        tally[id] = 0;
    }
    n_terms = static_cast<int64_t>(touched.size());
}

// Document and total frequencies per local term id of one thread's entries.
void local_frequencies(ThreadCounts& part, int64_t n_terms) {
    part.df.assign(static_cast<std::size_t>(n_terms), 0);
    part.tf.assign(static_cast<std::size_t>(n_terms), 0.0);
    for (std::size_t p = 0; p < part.terms.size(); ++p) {
        ++part.df[part.terms[p]];
        part.tf[part.terms[p]] += part.counts[p];
    }
}

// Assembles docs x n_cols CSR from per-thread entries; remap[t] (nullable)
// maps thread t's ids to output columns. Rows come out sorted.
CsrMatrix assemble(int64_t n_docs, int64_t n_cols, const std::vector<int64_t>& row_nnz,
                   const std::vector<ThreadCounts>& parts, const std::vector<std::vector<int32_t>>* remap,
                   int threads) {
    CsrMatrix m;
    m.n_rows = n_docs;
    m.n_cols = n_cols;
    m.indptr.assign(static_cast<std::size_t>(n_docs + 1), 0);
    for (int64_t d = 0; d < n_docs; ++d) m.indptr[d + 1] = m.indptr[d] + row_nnz[d];
    m.indices.resize(static_cast<std::size_t>(m.indptr[n_docs]));
    m.data.resize(m.indices.size());
    ExceptionCollector errors;
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (std::size_t t = 0; t < parts.size(); ++t) {
        errors.run([&] {
            const ThreadCounts& part = parts[t];
            std::size_t pos = 0;
            for (const int64_t d : part.docs) {
                int64_t dst = m.indptr[d];
                for (int64_t j = 0; j < row_nnz[d]; ++j, ++pos, ++dst) {
                    const int32_t id = part.terms[pos];
                    m.indices[dst] = remap ? (*remap)[t][id] : id;
                    m.data[dst] = part.counts[pos];
                }
            }
        });
    }
    errors.rethrow();
#pragma omp parallel num_threads(threads)
    {
        std::vector<std::pair<int32_t, float>> row;
#pragma omp for schedule(dynamic, 256)
        for (int64_t d = 0; d < n_docs; ++d) {
            errors.run([&] {
                const int64_t b = m.indptr[d], e = m.indptr[d + 1];
                row.clear();
                for (int64_t p = b; p < e; ++p) row.emplace_back(m.indices[p], m.data[p]);
                std::sort(row.begin(), row.end(),
                          [](const auto& x, const auto& y) { return x.first < y.first; });
                for (int64_t p = b; p < e; ++p) {
                    m.indices[p] = row[p - b].first;
                    m.data[p] = row[p - b].second;
                }
            });
        }
    }
    errors.rethrow();
    return m;
}

int text_threads(const std::vector<std::string_view>& docs, int num_threads) {
    std::size_t bytes = 0;
    for (const auto& d : docs) bytes += d.size();
    return bytes < (1u << 16) ? 1 : resolve_threads(num_threads);
}

// The counting pass of fit and transform: thread t counts its documents into
// parts[t] and row_nnz, with the term table table_of(t) and the term ids
// id_of(table, term, hash) (fit inserts into a per-thread table, transform
// looks up the fitted vocabulary).
template <class TableOf, class IdOf>
void count_documents(const std::vector<std::string_view>& docs, const TextOptions& opt, int threads,
                     std::vector<ThreadCounts>& parts, std::vector<int64_t>& row_nnz, TableOf&& table_of,
                     IdOf&& id_of) {
    const int64_t n_docs = static_cast<int64_t>(docs.size());
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        const int t = thread_id();
        Analyzer analyzer(opt);
        std::vector<int32_t> tally, touched;
        std::vector<uint64_t> hashes;
        auto& table = table_of(t);
#pragma omp for schedule(dynamic, 64)
        for (int64_t d = 0; d < n_docs; ++d) {
            errors.run([&] {
                parts[t].docs.push_back(d);
                count_document(
                    docs[d], analyzer, table,
                    [&](std::string_view term, uint64_t h) { return id_of(table, term, h); }, tally, touched,
                    hashes, parts[t], row_nnz[d]);
            });
        }
    }
    errors.rethrow();
}

}  // namespace

CsrMatrix count_fit(const std::vector<std::string_view>& docs, const TextOptions& opt,
                    const VocabularyLimits& limits, TermTable& vocabulary,
                    std::vector<int64_t>& document_frequency, int64_t& n_terms_seen, int num_threads) {
    const int64_t n_docs = static_cast<int64_t>(docs.size());
    const int threads = text_threads(docs, num_threads);
    const auto n_parts = static_cast<std::size_t>(threads);
    std::vector<ThreadCounts> parts(n_parts);
    std::vector<TermTable> tables(n_parts);
    std::vector<int64_t> row_nnz(static_cast<std::size_t>(n_docs), 0);
    count_documents(
        docs, opt, threads, parts, row_nnz, [&](int t) -> TermTable& { return tables[t]; },
        [](TermTable& table, std::string_view term, uint64_t h) { return table.insert(term, h); });
    ExceptionCollector errors;

    // Merge the per-thread vocabularies by hashing, in parallel: partition p
    // (one per thread) owns the terms whose hash falls in it and inserts them
    // from every thread's table, so the T * V insertions spread over T threads.
    // With one thread the local table is the merge.
    std::vector<TermTable> merged(n_parts);
    std::vector<std::vector<int64_t>> part_df(n_parts);
    std::vector<std::vector<double>> part_tf(n_parts);
    std::vector<std::vector<int32_t>> remap(n_parts);   // local id -> global id (then final id)
    std::vector<std::vector<uint32_t>> owner(n_parts);  // local id -> partition
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (std::size_t t = 0; t < n_parts; ++t) {
        errors.run([&] {
            local_frequencies(parts[t], tables[t].size());
            remap[t].resize(static_cast<std::size_t>(tables[t].size()));
            owner[t].resize(remap[t].size());
            for (int64_t i = 0; i < tables[t].size(); ++i)
                owner[t][i] = static_cast<uint32_t>((TermTable::hash(tables[t].term(i)) >> 40) % n_parts);
        });
    }
    errors.rethrow();
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (std::size_t p = 0; p < n_parts; ++p) {
        errors.run([&] {
            for (std::size_t t = 0; t < n_parts; ++t) {
                for (int64_t i = 0; i < tables[t].size(); ++i) {
                    if (owner[t][i] != p) continue;
                    const int32_t g = merged[p].insert(tables[t].term(i));
                    if (static_cast<std::size_t>(g) == part_df[p].size()) {
                        part_df[p].push_back(0);
                        part_tf[p].push_back(0.0);
                    }
                    part_df[p][g] += parts[t].df[i];
                    part_tf[p][g] += parts[t].tf[i];
                    remap[t][i] = g;
                }
            }
        });
    }
    errors.rethrow();
    tables.clear();
    std::vector<int64_t> offset(n_parts + 1, 0);
    for (std::size_t p = 0; p < n_parts; ++p) offset[p + 1] = offset[p] + merged[p].size();
    n_terms_seen = offset[n_parts];
    std::vector<uint32_t> part_of(static_cast<std::size_t>(n_terms_seen));
    std::vector<int64_t> df(part_of.size());
    std::vector<double> tf(part_of.size());
    for (std::size_t p = 0; p < n_parts; ++p) {
        std::fill(part_of.begin() + offset[p], part_of.begin() + offset[p + 1], static_cast<uint32_t>(p));
        std::copy(part_df[p].begin(), part_df[p].end(), df.begin() + offset[p]);
        std::copy(part_tf[p].begin(), part_tf[p].end(), tf.begin() + offset[p]);
    }
    auto term_of = [&](int64_t g) { return merged[part_of[g]].term(g - offset[part_of[g]]); };
    auto prefix_of = [&](int64_t g) { return merged[part_of[g]].prefix(g - offset[part_of[g]]); };

    // Prune by document frequency (and total count) before sorting: most
    // n-grams are rare, so the sort runs over the survivors only.
    std::vector<int32_t> kept;
    for (int64_t g = 0; g < n_terms_seen; ++g)
        if (df[g] >= limits.min_df && static_cast<double>(df[g]) <= limits.max_df)
            kept.push_back(static_cast<int32_t>(g));
    auto by_term = [&](std::vector<int32_t>& ids) {
        std::vector<std::pair<uint64_t, int32_t>> keyed(ids.size());
        for (std::size_t i = 0; i < ids.size(); ++i) keyed[i] = {prefix_of(ids[i]), ids[i]};
        std::sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
            if (a.first != b.first) return a.first < b.first;
            return term_of(a.second) < term_of(b.second);
        });
        for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = keyed[i].second;
    };
    by_term(kept);
    if (limits.max_features >= 0 && static_cast<int64_t>(kept.size()) > limits.max_features) {
        // largest totals first; equal totals keep the term that sorts first
        std::stable_sort(kept.begin(), kept.end(), [&](int32_t a, int32_t b) { return tf[a] > tf[b]; });
        kept.resize(static_cast<std::size_t>(limits.max_features));
        by_term(kept);
    }
    std::vector<int32_t> final_id(static_cast<std::size_t>(n_terms_seen), -1);
    vocabulary = TermTable();
    document_frequency.resize(kept.size());
    for (std::size_t i = 0; i < kept.size(); ++i) {
        final_id[kept[i]] = static_cast<int32_t>(i);
        vocabulary.insert(term_of(kept[i]));
        document_frequency[i] = df[kept[i]];
    }

    // Local ids -> final ids, dropping pruned entries from the document lists.
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (std::size_t t = 0; t < n_parts; ++t) {
        ThreadCounts& part = parts[t];
        for (std::size_t i = 0; i < remap[t].size(); ++i)
            remap[t][i] = final_id[offset[owner[t][i]] + remap[t][i]];
        std::size_t src = 0, dst = 0;
        for (const int64_t d : part.docs) {
            int64_t kept_in_doc = 0;
            for (int64_t j = 0; j < row_nnz[d]; ++j, ++src) {
                const int32_t id = remap[t][part.terms[src]];
                if (id < 0) continue;
                part.terms[dst] = id;
                part.counts[dst] = part.counts[src];
                ++dst;
                ++kept_in_doc;
            }
            row_nnz[d] = kept_in_doc;
        }
        part.terms.resize(dst);
        part.counts.resize(dst);
    }
    return assemble(n_docs, vocabulary.size(), row_nnz, parts, nullptr, threads);
}

void tfidf_values(const CsrView& counts, const double* idf, bool sublinear, int norm, float* out,
                  int num_threads) {
    const int threads = counts.nnz() < (1 << 16) ? 1 : resolve_threads(num_threads);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        std::vector<double> row;
#pragma omp for schedule(dynamic, 512)
        for (int64_t r = 0; r < counts.n_rows; ++r) {
            errors.run([&] {
                const int64_t b = counts.indptr[r], e = counts.indptr[r + 1];
                double total = 0.0;
                row.resize(static_cast<std::size_t>(e - b));
                for (int64_t p = b; p < e; ++p) {
                    double v = counts.data[p];
                    if (sublinear) v = 1.0 + std::log(v);
                    if (idf) v *= idf[counts.indices[p]];
                    row[p - b] = v;
                    total += norm == 2 ? v * v : std::fabs(v);
                }
                const double scale =
                    (norm == 0 || total == 0.0) ? 1.0 : 1.0 / (norm == 2 ? std::sqrt(total) : total);
                for (int64_t p = b; p < e; ++p) out[p] = static_cast<float>(row[p - b] * scale);
            });
        }
    }
    errors.rethrow();
}

CsrMatrix count_transform(const std::vector<std::string_view>& docs, const TextOptions& opt,
                          const TermTable& vocabulary, int num_threads) {
    const int64_t n_docs = static_cast<int64_t>(docs.size());
    const int threads = text_threads(docs, num_threads);
    std::vector<ThreadCounts> parts(static_cast<std::size_t>(threads));
    std::vector<int64_t> row_nnz(static_cast<std::size_t>(n_docs), 0);
    count_documents(
        docs, opt, threads, parts, row_nnz, [&](int) -> const TermTable& { return vocabulary; },
        [](const TermTable& table, std::string_view term, uint64_t h) { return table.find(term, h); });
    return assemble(n_docs, vocabulary.size(), row_nnz, parts, nullptr, threads);
}

}  // namespace reelrec::similarity
