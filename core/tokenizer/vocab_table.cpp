#include "vocab_table.h"

#include <algorithm>

namespace attnscope::tok {

uint64_t VocabTable::hash(std::u32string_view s) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ s.size(); // FNV-style over code points, then mixed
    for (char32_t c : s)
        h = (h ^ uint64_t(c)) * 0x100000001B3ULL;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    return h ^ (h >> 32);
}

void VocabTable::reserve(size_t tokens, size_t characters) {
    m_entries.reserve(tokens);
    m_chars.reserve(characters);
    m_byIdDense.reserve(tokens);
    size_t slots = 16;
    while (slots < tokens * 2)
        slots *= 2;
    if (slots > m_slots.size()) {
        m_slots.assign(slots, 0);
        for (uint32_t e = 0; e < m_entries.size(); ++e) {
            const uint64_t h = hash(view(m_entries[e]));
            size_t i = h & (m_slots.size() - 1);
            while (m_slots[i])
                i = (i + 1) & (m_slots.size() - 1);
            m_slots[i] = slotValue(h, e);
        }
    }
}

void VocabTable::grow() {
    reserve(std::max<size_t>(m_entries.size() * 2, 8), m_chars.size());
}

bool VocabTable::insert(std::u32string_view token, int64_t id) {
    if ((m_entries.size() + 1) * 2 > m_slots.size()) grow();
    const size_t mask = m_slots.size() - 1;
    const uint64_t h = hash(token);
    size_t i = h & mask;
    for (; m_slots[i]; i = (i + 1) & mask)
        if (sameTag(m_slots[i], h) && view(m_entries[entryOf(m_slots[i])]) == token) return false;
    const uint32_t entry = uint32_t(m_entries.size());
    m_entries.push_back({uint32_t(m_chars.size()), uint32_t(token.size()), id});
    m_chars.insert(m_chars.end(), token.begin(), token.end());
    m_slots[i] = slotValue(h, entry);
    indexById(entry);
    return true;
}

void VocabTable::append(std::u32string_view token, int64_t id) {
    m_entries.push_back({uint32_t(m_chars.size()), uint32_t(token.size()), id});
    m_chars.insert(m_chars.end(), token.begin(), token.end());
}

bool VocabTable::finishAppending() {
    const size_t n = m_entries.size();
    std::vector<uint64_t> hashes(n);
    for (size_t e = 0; e < n; ++e)
        hashes[e] = hash(view(m_entries[e]));
    size_t slots = 16;
    while (slots < n * 2)
        slots *= 2;
    m_slots.assign(slots, 0);
    const size_t mask = slots - 1;
    constexpr size_t kAhead = 16;
    for (size_t e = 0; e < n; ++e) {
        if (e + kAhead < n) __builtin_prefetch(&m_slots[hashes[e + kAhead] & mask], 1);
        size_t i = hashes[e] & mask;
        for (; m_slots[i]; i = (i + 1) & mask)
            if (sameTag(m_slots[i], hashes[e]) &&
                view(m_entries[entryOf(m_slots[i])]) == view(m_entries[e]))
                return false;
        m_slots[i] = slotValue(hashes[e], uint32_t(e));
        indexById(uint32_t(e));
    }
    return true;
}

void VocabTable::indexById(uint32_t entry) {
    const int64_t id = m_entries[entry].id;
    uint32_t* slot = nullptr;
    if (auto sparse = m_byIdSparse.find(id); sparse != m_byIdSparse.end()) {
        slot = &sparse->second;
    } else if (id >= 0 && id < int64_t(m_entries.size()) * 8 + 1024) {
        if (size_t(id) >= m_byIdDense.size()) m_byIdDense.resize(size_t(id) + 1, 0);
        slot = &m_byIdDense[size_t(id)];
    } else {
        slot = &m_byIdSparse[id];
    }
    if (*slot == 0 || view(m_entries[entry]) < view(m_entries[*slot - 1])) *slot = entry + 1;
}

void VocabTable::build(const std::unordered_map<std::u32string, int64_t>& vocab) {
    size_t characters = 0;
    for (const auto& [token, id] : vocab)
        characters += token.size();
    reserve(vocab.size(), characters);
    for (const auto& [token, id] : vocab)
        insert(token, id);
}

std::optional<int64_t> VocabTable::id(std::u32string_view token) const {
    if (m_slots.empty()) return std::nullopt;
    const size_t mask = m_slots.size() - 1;
    const uint64_t h = hash(token);
    for (size_t i = h & mask; m_slots[i]; i = (i + 1) & mask) {
        if (!sameTag(m_slots[i], h)) continue;
        const Entry& e = m_entries[entryOf(m_slots[i])];
        if (view(e) == token) return e.id;
    }
    return std::nullopt;
}

void VocabTable::ids(const std::u32string_view* tokens, size_t count, int64_t* out) const {
    if (m_slots.empty()) {
        std::fill(out, out + count, -1);
        return;
    }
    const size_t mask = m_slots.size() - 1;
    constexpr size_t kBatch = 64;
    uint64_t hashes[kBatch];
    int64_t candidates[kBatch]; // entry of the first slot whose tag matches, -1 none
    for (size_t begin = 0; begin < count; begin += kBatch) {
        const size_t n = std::min(kBatch, count - begin);
        const std::u32string_view* batch = tokens + begin;
        for (size_t i = 0; i < n; ++i) { // 1: slots
            hashes[i] = hash(batch[i]);
            __builtin_prefetch(&m_slots[hashes[i] & mask]);
        }
        for (size_t i = 0; i < n; ++i) { // 2: entries
            candidates[i] = -1;
            for (size_t s = hashes[i] & mask; m_slots[s]; s = (s + 1) & mask)
                if (sameTag(m_slots[s], hashes[i])) {
                    candidates[i] = entryOf(m_slots[s]);
                    __builtin_prefetch(&m_entries[size_t(candidates[i])]);
                    break;
                }
        }
        for (size_t i = 0; i < n; ++i) // 3: characters
            if (candidates[i] >= 0)
                __builtin_prefetch(m_chars.data() + m_entries[size_t(candidates[i])].offset);
        for (size_t i = 0; i < n; ++i) { // 4: compare; a tag collision takes the plain path
            if (candidates[i] < 0) {
                out[begin + i] = -1;
                continue;
            }
            const Entry& e = m_entries[size_t(candidates[i])];
            out[begin + i] = view(e) == batch[i] ? e.id : id(batch[i]).value_or(-1);
        }
    }
}

std::optional<std::u32string> VocabTable::tok(int64_t id) const {
    uint32_t entry = 0;
    if (id >= 0 && size_t(id) < m_byIdDense.size()) entry = m_byIdDense[size_t(id)];
    if (!entry) {
        auto it = m_byIdSparse.find(id);
        if (it != m_byIdSparse.end()) entry = it->second;
    }
    if (!entry) return std::nullopt;
    return std::u32string(view(m_entries[entry - 1]));
}

void MergeTable::reserve(size_t merges) {
    size_t slots = 16;
    while (slots < merges * 2)
        slots *= 2;
    if (slots <= m_slots.size()) return;
    std::vector<Slot> old = std::move(m_slots);
    m_slots.assign(slots, Slot{});
    m_count = 0;
    for (const Slot& s : old)
        if (s.key != kEmpty) insert(s.key, s.value);
}

void MergeTable::insert(uint64_t key, Value value) {
    if ((m_count + 1) * 2 > m_slots.size()) reserve(std::max<size_t>(m_count * 2, 8));
    const size_t mask = m_slots.size() - 1;
    size_t i = hash(key) & mask;
    for (; m_slots[i].key != kEmpty; i = (i + 1) & mask)
        if (m_slots[i].key == key) return;
    m_slots[i] = {key, value};
    ++m_count;
}

const MergeTable::Value* MergeTable::find(uint64_t key) const {
    if (m_slots.empty()) return nullptr;
    const size_t mask = m_slots.size() - 1;
    for (size_t i = hash(key) & mask; m_slots[i].key != kEmpty; i = (i + 1) & mask)
        if (m_slots[i].key == key) return &m_slots[i].value;
    return nullptr;
}

} // namespace attnscope::tok
