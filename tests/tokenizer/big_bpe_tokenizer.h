#pragma once
// A tokenizer.json of Qwen2 / Llama-3 size, generated: a byte-level BPE with `vocabSize` entries
// (the 256 byte characters, then merges of two existing tokens into a new one, drawn from a
// seeded generator so every run writes the same file) and one special token after them.
#include <QByteArray>
#include <QString>

#include <random>
#include <set>
#include <string>
#include <vector>

namespace attnscope::testing {

struct BigBpeOptions {
    int vocabSize = 150000;
    bool mergesAsPairs = false;  // [["a", "b"], ...] as tokenizers >= 0.20 writes them
    bool escapeNonAscii = false; // every non-ASCII character as \uXXXX (surrogate pairs above)
};

inline void appendUtf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += char(c);
    } else if (c < 0x800) {
        out += char(0xC0 | (c >> 6));
        out += char(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += char(0xE0 | (c >> 12));
        out += char(0x80 | ((c >> 6) & 0x3F));
        out += char(0x80 | (c & 0x3F));
    } else {
        out += char(0xF0 | (c >> 18));
        out += char(0x80 | ((c >> 12) & 0x3F));
        out += char(0x80 | ((c >> 6) & 0x3F));
        out += char(0x80 | (c & 0x3F));
    }
}

// A JSON string literal of `token` (code points).
inline void appendJsonString(std::string& out, const std::u32string& token, bool escapeNonAscii) {
    static const char* hex = "0123456789abcdef";
    auto unit = [&](unsigned u) {
        out += "\\u";
        for (int shift = 12; shift >= 0; shift -= 4)
            out += hex[(u >> shift) & 15];
    };
    out += '"';
    for (char32_t c : token) {
        if (c == U'"' || c == U'\\') {
            out += '\\';
            out += char(c);
        } else if (c < 0x20) {
            unit(unsigned(c));
        } else if (c >= 0x80 && escapeNonAscii) {
            if (c >= 0x10000) {
                unit(0xD800 + ((c - 0x10000) >> 10));
                unit(0xDC00 + ((c - 0x10000) & 0x3FF));
            } else {
                unit(unsigned(c));
            }
        } else {
            appendUtf8(out, c);
        }
    }
    out += '"';
}

inline QByteArray bigBpeTokenizerJson(const BigBpeOptions& options) {
    // GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest from U+0100 on.
    std::vector<std::u32string> tokens;
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
        const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        tokens.push_back(std::u32string(1, printable ? char32_t(b) : next++));
    }
    std::set<std::u32string> known(tokens.begin(), tokens.end());
    std::vector<std::pair<int, int>> merges;
    std::mt19937 rng(20260);
    // Letters and the space marker (Ġ) merge most often, so English text meets many merges;
    // a few astral characters join in so that surrogate pairs are exercised.
    const std::u32string common = U"etaoinshrdlucmfwypvbgkqjxzĠETAOINS";
    for (char32_t c : {U'😀', U'𝔸'}) {
        tokens.push_back(std::u32string(1, c));
        known.insert(tokens.back());
    }
    std::vector<int> commonIds;
    for (char32_t c : common)
        for (int i = 0; i < 256; ++i)
            if (tokens[size_t(i)] == std::u32string(1, c)) commonIds.push_back(i);
    while (int(tokens.size()) < options.vocabSize) {
        auto pick = [&]() -> int {
            const unsigned r = rng() % 10;
            if (r < 6) return commonIds[rng() % commonIds.size()];
            if (r < 9) return int(rng() % std::min<size_t>(tokens.size(), 4096)); // short ones
            return int(rng() % tokens.size());
        };
        const int a = pick(), b = pick();
        std::u32string merged = tokens[size_t(a)] + tokens[size_t(b)];
        if (merged.size() > 16 || !known.insert(merged).second) continue;
        merges.push_back({a, b});
        tokens.push_back(std::move(merged));
    }

    std::string json;
    json.reserve(size_t(options.vocabSize) * 48);
    json += "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n";
    json += "  \"added_tokens\": [{\"id\": " + std::to_string(tokens.size()) +
            ", \"content\": \"<|endoftext|>\", \"single_word\": false, \"lstrip\": false, "
            "\"rstrip\": false, \"normalized\": false, \"special\": true}],\n";
    json += "  \"normalizer\": null,\n";
    json += "  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
            "\"trim_offsets\": true, \"use_regex\": true},\n";
    json += "  \"post_processor\": null,\n";
    json += "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, "
            "\"trim_offsets\": true, \"use_regex\": true},\n";
    json += "  \"model\": {\n    \"type\": \"BPE\", \"dropout\": null, \"unk_token\": null,\n"
            "    \"continuing_subword_prefix\": \"\", \"end_of_word_suffix\": \"\",\n"
            "    \"fuse_unk\": false, \"byte_fallback\": false, \"ignore_merges\": false,\n"
            "    \"vocab\": {\n";
    for (size_t id = 0; id < tokens.size(); ++id) {
        json += "      ";
        appendJsonString(json, tokens[id], options.escapeNonAscii);
        json += ": " + std::to_string(id) + (id + 1 < tokens.size() ? ",\n" : "\n");
    }
    json += "    },\n    \"merges\": [\n";
    for (size_t i = 0; i < merges.size(); ++i) {
        const std::u32string& a = tokens[size_t(merges[i].first)];
        const std::u32string& b = tokens[size_t(merges[i].second)];
        json += "      ";
        if (options.mergesAsPairs) {
            json += '[';
            appendJsonString(json, a, options.escapeNonAscii);
            json += ", ";
            appendJsonString(json, b, options.escapeNonAscii);
            json += ']';
        } else {
            appendJsonString(json, a + U" " + b, options.escapeNonAscii);
        }
        json += i + 1 < merges.size() ? ",\n" : "\n";
    }
    json += "    ]\n  }\n}\n";
    return QByteArray::fromStdString(json);
}

} // namespace attnscope::testing
