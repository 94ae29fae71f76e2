#pragma once
// A tokenizer's vocabulary (token string <-> id) in a few flat arrays instead of one heap node
// per token: the token characters back to back, an entry per token, and an open-addressing
// index. Loading Qwen2 / Llama-3 size vocabularies (150 000 tokens, as many merges looked up
// three times each) is then bound by reading the file, not by allocations and cache misses.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace attnscope::tok {

class VocabTable {
public:
    void reserve(size_t tokens, size_t characters);
    // false when `token` is already present (the table is unchanged).
    bool insert(std::u32string_view token, int64_t id);
    // Bulk loading: append every token, then index them all at once (hashes first, then the
    // slots with prefetching, so the random accesses overlap). false: a token was repeated.
    void reserveForAppending(size_t tokens, size_t characters) {
        m_entries.reserve(tokens);
        m_chars.reserve(characters);
    }
    void append(std::u32string_view token, int64_t id);
    bool finishAppending();
    // From a map (the QJsonDocument path); the same table as inserting its entries.
    void build(const std::unordered_map<std::u32string, int64_t>& vocab);

    std::optional<int64_t> id(std::u32string_view token) const;
    // ids[i] = id(tokens[i]), or -1; many at once, so that their cache misses overlap (a BPE
    // file's merges look up three tokens each).
    void ids(const std::u32string_view* tokens, size_t count, int64_t* ids) const;
    // Several tokens with one id (a malformed file): the lexicographically smallest names it.
    std::optional<std::u32string> tok(int64_t id) const;
    int size() const { return int(m_entries.size()); }

private:
    struct Entry {
        uint32_t offset, length; // into m_chars
        int64_t id;
    };
    std::u32string_view view(const Entry& e) const {
        return std::u32string_view(m_chars.data() + e.offset, e.length);
    }
    static uint64_t hash(std::u32string_view s);
    static uint64_t slotValue(uint64_t hash, uint32_t entry) {
        return (hash & 0xFFFFFFFF00000000ULL) | (uint64_t(entry) + 1);
    }
    static bool sameTag(uint64_t slot, uint64_t hash) { return (slot ^ hash) >> 32 == 0; }
    static uint32_t entryOf(uint64_t slot) { return uint32_t(slot & 0xFFFFFFFFULL) - 1; }
    void grow();
    void indexById(uint32_t entry);

    std::vector<char32_t> m_chars;
    std::vector<Entry> m_entries;
    // The hash's upper 32 bits (so most mismatches are told without reading the entry) and the
    // entry index + 1 in the lower ones; 0 = empty; a power of two long.
    std::vector<uint64_t> m_slots;
    // id -> entry index + 1 (0 = none): a plain array for the usual dense ids, a map for ids far
    // beyond the vocabulary's size.
    std::vector<uint32_t> m_byIdDense;
    std::unordered_map<int64_t, uint32_t> m_byIdSparse;
};

// BPE merges: (left id, right id) packed in 64 bits -> (rank, merged id), open addressing.
class MergeTable {
public:
    struct Value {
        int rank;
        int64_t id;
    };
    void reserve(size_t merges);
    // An existing key keeps its value (the first, lowest-rank merge wins).
    void insert(uint64_t key, Value value);
    const Value* find(uint64_t key) const;

private:
    static constexpr uint64_t kEmpty = ~uint64_t(0); // ids are below 2^31: never a real key
    struct Slot {
        uint64_t key = kEmpty;
        Value value{};
    };
    static size_t hash(uint64_t key) {
        key ^= key >> 31;
        key *= 0x9E3779B97F4A7C15ULL;
        return size_t(key ^ (key >> 29));
    }
    std::vector<Slot> m_slots; // a power of two long
    size_t m_count = 0;
};

} // namespace attnscope::tok
