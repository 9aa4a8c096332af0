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
        return ((c & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) | ((s[i + 2] & 0x3Fu) << 6) | (s[i + 3] & 0x3Fu);
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
        if (static_cast<std::size_t>(id) >= tally.size()) tally.resize(std::max<std::size_t>(2 * tally.size(), id + 1), 0);
        if (tally[id]++ == 0) touched.push_back(id);
    }
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
        std::vector<uint64_t> hashes;
        TermTable& table = tables[t];
#pragma omp for schedule(dynamic, 64)
        for (int64_t d = 0; d < n_docs; ++d) {
            errors.run([&] {
                parts[t].docs.push_back(d);
                count_document(
                    docs[d], analyzer, table, [&](std::string_view term, uint64_t h) { return table.insert(term, h); },
                    tally, touched, hashes, parts[t], row_nnz[d]);
            });
        }
    }
    errors.rethrow();

    // Sorted merge of the per-thread vocabularies: global ids follow byte order.
    std::vector<std::vector<int32_t>> order(tables.size());
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (std::size_t t = 0; t < tables.size(); ++t) {
        errors.run([&] {
            const TermTable& table = tables[t];
            std::vector<std::pair<uint64_t, int32_t>> keyed(static_cast<std::size_t>(table.size()));
            for (std::size_t i = 0; i < keyed.size(); ++i)
                keyed[i] = {table.prefix(static_cast<int64_t>(i)), static_cast<int32_t>(i)};
            std::sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
                if (a.first != b.first) return a.first < b.first;
                return table.term(a.second) < table.term(b.second);
            });
            auto& o = order[t];
            o.resize(keyed.size());
            for (std::size_t i = 0; i < keyed.size(); ++i) o[i] = keyed[i].second;
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
        std::vector<uint64_t> hashes;
#pragma omp for schedule(dynamic, 64)
        for (int64_t d = 0; d < n_docs; ++d) {
            errors.run([&] {
                parts[t].docs.push_back(d);
                count_document(
                    docs[d], analyzer, vocabulary,
                    [&](std::string_view term, uint64_t h) { return vocabulary.find(term, h); }, tally, touched,
                    hashes, parts[t], row_nnz[d]);
            });
        }
    }
    errors.rethrow();
    return assemble(n_docs, vocabulary.size(), row_nnz, parts, nullptr, threads);
}

}  // namespace reelrec::similarity
