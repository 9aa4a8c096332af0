#include "similarity/text.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <queue>
#include <utility>

#include "common/parallel.hpp"

namespace reelrec::similarity {

// ------------------------------------------------------------------ TermTable

uint64_t TermTable::hash(std::string_view s) {
    // 8 bytes per step with a multiply-xorshift mix: terms are short, so speed
    // of the first few words matters more than avalanche quality.
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (s.size() * 0xff51afd7ed558ccdull);
    const char* p = s.data();
    std::size_t n = s.size();
    while (n >= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 32;
    return h;
}

void TermTable::rehash(std::size_t capacity) {
    slots_.assign(capacity, -1);
    mask_ = capacity - 1;
    for (int64_t id = 0; id < size(); ++id) {
        std::size_t i = hashes_[id] & mask_;
        while (slots_[i] >= 0) i = (i + 1) & mask_;
        slots_[i] = static_cast<int32_t>(id);
    }
}

int32_t TermTable::insert(std::string_view t) {
    const uint64_t h = hash(t);
    std::size_t i = h & mask_;
    for (;;) {
        const int32_t id = slots_[i];
        if (id < 0) break;
        if (hashes_[id] == h && term(id) == t) return id;
        i = (i + 1) & mask_;
    }
    const auto id = static_cast<int32_t>(size());
    arena_.append(t.data(), t.size());
    offsets_.push_back(static_cast<int64_t>(arena_.size()));
    hashes_.push_back(h);
    slots_[i] = id;
    if (static_cast<std::size_t>(size()) * 2 > slots_.size()) rehash(slots_.size() * 2);
    return id;
}

int32_t TermTable::find(std::string_view t) const {
    const uint64_t h = hash(t);
    std::size_t i = h & mask_;
    for (;;) {
        const int32_t id = slots_[i];
        if (id < 0) return -1;
        if (hashes_[id] == h && term(id) == t) return id;
        i = (i + 1) & mask_;
    }
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
        return ((c & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) | ((s[i + 2] & 0x3Fu) << 6) | (s[i + 3] & 0x3Fu);
    }
    len = 1;
    return 0xFFFFFFFFu;
}

class Analyzer {
public:
    explicit Analyzer(const TextOptions& opt) : opt_(opt) {}

    // Calls emit(term) for every n-gram occurrence of doc.
    template <class Emit>
    void run(std::string_view doc, Emit&& emit) {
        std::string_view text = doc;
        if (opt_.lowercase) {
            lowered_.assign(doc.data(), doc.size());
            for (char& c : lowered_)
                if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
            text = lowered_;
        }
        tokenize(text);
        const int64_t n_tok = static_cast<int64_t>(tokens_.size());
        for (int n = opt_.ngram_min; n <= opt_.ngram_max; ++n) {
            for (int64_t i = 0; i + n <= n_tok; ++i) {
                if (n == 1) {
                    emit(text.substr(tokens_[i].first, tokens_[i].second));
                    continue;
                }
                gram_.clear();
                for (int j = 0; j < n; ++j) {
                    if (j) gram_.push_back(' ');
                    gram_.append(text.data() + tokens_[i + j].first, tokens_[i + j].second);
                }
                emit(std::string_view(gram_));
            }
        }
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
    std::string lowered_, gram_;
    std::vector<std::pair<std::size_t, std::size_t>> tokens_;
};

// Per-thread output: the documents it processed, in order, and their (term, count) entries.
struct ThreadCounts {
    std::vector<int64_t> docs;
    std::vector<int32_t> terms;
    std::vector<float> counts;
};

// Counts one document: term ids come from lookup(term) (-1 = skip).
template <class Lookup>
void count_document(std::string_view doc, Analyzer& analyzer, Lookup&& lookup, std::vector<int32_t>& tally,
                    std::vector<int32_t>& touched, ThreadCounts& out, int64_t& n_terms) {
    touched.clear();
    analyzer.run(doc, [&](std::string_view term) {
        const int32_t id = lookup(term);
        if (id < 0) return;
        if (static_cast<std::size_t>(id) >= tally.size()) tally.resize(std::max<std::size_t>(2 * tally.size(), id + 1), 0);
        if (tally[id]++ == 0) touched.push_back(id);
    });
    for (const int32_t id : touched) {
        out.terms.push_back(id);
        out.counts.push_back(static_cast<float>(tally[id]));
        tally[id] = 0;
    }
    n_terms = static_cast<int64_t>(touched.size());
}

// Assembles docs x n_cols CSR from per-thread entries; remap[t] (nullable)
// maps thread t's ids to output columns. Rows come out sorted.
Csr assemble(int64_t n_docs, int64_t n_cols, const std::vector<int64_t>& row_nnz,
             const std::vector<ThreadCounts>& parts, const std::vector<std::vector<int32_t>>* remap,
             int threads) {
    Csr m;
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
                std::sort(row.begin(), row.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
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

}  // namespace

Csr count_fit(const std::vector<std::string_view>& docs, const TextOptions& opt, TermTable& vocabulary,
              int num_threads) {
    const int64_t n_docs = static_cast<int64_t>(docs.size());
    const int threads = text_threads(docs, num_threads);
    std::vector<ThreadCounts> parts(static_cast<std::size_t>(threads));
    std::vector<TermTable> tables(static_cast<std::size_t>(threads));
    std::vector<int64_t> row_nnz(static_cast<std::size_t>(n_docs), 0);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        const int t = thread_id();
        Analyzer analyzer(opt);
        std::vector<int32_t> tally, touched;
        TermTable& table = tables[t];
#pragma omp for schedule(dynamic, 64)
        for (int64_t d = 0; d < n_docs; ++d) {
            errors.run([&] {
                parts[t].docs.push_back(d);
                count_document(
                    docs[d], analyzer, [&](std::string_view term) { return table.insert(term); }, tally,
                    touched, parts[t], row_nnz[d]);
            });
        }
    }
    errors.rethrow();

    // Sorted merge of the per-thread vocabularies: global ids follow byte order.
    std::vector<std::vector<int32_t>> order(tables.size());
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (std::size_t t = 0; t < tables.size(); ++t) {
        errors.run([&] {
            auto& o = order[t];
            o.resize(static_cast<std::size_t>(tables[t].size()));
            for (std::size_t i = 0; i < o.size(); ++i) o[i] = static_cast<int32_t>(i);
            const TermTable& table = tables[t];
            std::sort(o.begin(), o.end(), [&](int32_t a, int32_t b) { return table.term(a) < table.term(b); });
        });
    }
    errors.rethrow();
    std::vector<std::vector<int32_t>> remap(tables.size());
    for (std::size_t t = 0; t < tables.size(); ++t) remap[t].resize(static_cast<std::size_t>(tables[t].size()));
    using Head = std::pair<std::string_view, std::size_t>;  // (term, thread)
    std::priority_queue<Head, std::vector<Head>, std::greater<Head>> heads;
    std::vector<std::size_t> pos(tables.size(), 0);
    for (std::size_t t = 0; t < tables.size(); ++t)
        if (!order[t].empty()) heads.emplace(tables[t].term(order[t][0]), t);
    vocabulary = TermTable();
    std::string last;
    bool any = false;
    while (!heads.empty()) {
        const auto [term, t] = heads.top();
        heads.pop();
        if (!any || term != std::string_view(last)) {
            vocabulary.insert(term);
            last.assign(term.data(), term.size());
            any = true;
        }
        remap[t][order[t][pos[t]]] = static_cast<int32_t>(vocabulary.size() - 1);
        if (++pos[t] < order[t].size()) heads.emplace(tables[t].term(order[t][pos[t]]), t);
    }
    tables.clear();
    return assemble(n_docs, vocabulary.size(), row_nnz, parts, &remap, threads);
}

Csr count_transform(const std::vector<std::string_view>& docs, const TextOptions& opt,
                    const TermTable& vocabulary, int num_threads) {
    const int64_t n_docs = static_cast<int64_t>(docs.size());
    const int threads = text_threads(docs, num_threads);
    std::vector<ThreadCounts> parts(static_cast<std::size_t>(threads));
    std::vector<int64_t> row_nnz(static_cast<std::size_t>(n_docs), 0);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        const int t = thread_id();
        Analyzer analyzer(opt);
        std::vector<int32_t> tally, touched;
#pragma omp for schedule(dynamic, 64)
        for (int64_t d = 0; d < n_docs; ++d) {
            errors.run([&] {
                parts[t].docs.push_back(d);
                count_document(
                    docs[d], analyzer, [&](std::string_view term) { return vocabulary.find(term); }, tally,
                    touched, parts[t], row_nnz[d]);
            });
        }
    }
    errors.rethrow();
    return assemble(n_docs, vocabulary.size(), row_nnz, parts, nullptr, threads);
}

}  // namespace reelrec::similarity
