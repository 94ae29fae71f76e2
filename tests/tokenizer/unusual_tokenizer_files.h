#pragma once
// tokenizer.json files for tst_tokenizer_bulk (kept out of the test's source: moc does not follow
// raw string literals full of quotes and backslashes).
#include <QByteArray>

#include <vector>

struct UnusualFile {
    const char* name;
    QByteArray model; // the "model" object's members
    bool loads;       // whether Hugging Face's rules accept the file
};

inline std::vector<UnusualFile> unusualTokenizerFiles() {
    std::vector<UnusualFile> rows;
    auto row = [&](const char* name, const QByteArray& model, bool loads) {
        rows.push_back({name, model, loads});
    };
    const QByteArray merges = R"("merges": ["l o", "lo w"])";
    row("plain",
        R"("type": "BPE", "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low": 5, "[UNK]": 0}, )" +
            merges,
        true);
    row("pairs",
        R"("type": "BPE", "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low": 5, "[UNK]": 0}, "merges": [["l", "o"], ["lo", "w"]])",
        true);
    row("merges before vocab",
        merges +
            R"(, "type": "BPE", "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low": 5, "[UNK]": 0})",
        true);
    row("escapes in keys",
        R"("type": "BPE", "vocab": {"\u006c": 1, "o": 2, "w": 3, "l\u006f": 4, "low": 5, "[UNK]": 0, "\"": 6, "\\": 7, "\ud83d\ude00": 8, "\/": 9}, )" +
            merges,
        true);
    row("no whitespace",
        R"("type":"BPE","vocab":{"l":1,"o":2,"w":3,"lo":4,"low":5,"[UNK]":0},"merges":["l o","lo w"])",
        true);
    row("id 5.0",
        R"("type": "BPE", "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low": 5.0, "[UNK]": 0}, )" +
            merges,
        true);
    row("id 5e0",
        R"("type": "BPE", "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low": 5e0, "[UNK]": 0}, )" +
            merges,
        true);
    row("duplicate key",
        R"("type": "BPE", "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low": 5, "low": 6, "[UNK]": 0}, )" +
            merges,
        true);
    row("duplicate vocab",
        R"("type": "BPE", "vocab": {"x": 9}, "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low": 5, "[UNK]": 0}, )" +
            merges,
        true);
    row("id as string",
        R"("type": "BPE", "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low": "5", "[UNK]": 0}, )" +
            merges,
        false);
    row("negative id",
        R"("type": "BPE", "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low": -5, "[UNK]": 0}, )" +
            merges,
        false);
    row("id 2^31",
        R"("type": "BPE", "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low": 2147483648, "[UNK]": 0}, )" +
            merges,
        false);
    row("leading zero",
        R"("type": "BPE", "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low": 05, "[UNK]": 0}, )" +
            merges,
        false);
    row("trailing comma",
        R"("type": "BPE", "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low": 5, "[UNK]": 0,}, )" +
            merges,
        false);
    row("merges a string",
        R"("type": "BPE", "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low": 5, "[UNK]": 0}, "merges": "l o")",
        false);
    row("merge without space",
        R"("type": "BPE", "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low": 5, "[UNK]": 0}, "merges": ["lo"])",
        false);
    row("merge names a missing token",
        R"("type": "BPE", "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "[UNK]": 0}, )" + merges,
        false);
    row("merge pair of numbers",
        R"("type": "BPE", "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low": 5, "[UNK]": 0}, "merges": [[1, 2]])",
        false);
    row("lone surrogate",
        R"("type": "BPE", "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low": 5, "[UNK]": 0, "\ud83d": 6}, )" +
            merges,
        true);
    // Qt reads a raw tab inside a string; the bulk reader leaves that to it.
    row("control character",
        "\"type\": \"BPE\", \"vocab\": {\"l\": 1, \"o\": 2, \"w\": 3, \"lo\": 4, \"low\": 5, "
        "\"[UNK]\": 0, \"a\tb\": 6}, " +
            merges,
        true);
    row("truncated", R"("type": "BPE", "vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low)", false);
    row("WordPiece",
        R"("type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "low": 1, "##er": 2})",
        true);
    row("no type, merges",
        R"("vocab": {"l": 1, "o": 2, "w": 3, "lo": 4, "low": 5, "[UNK]": 0}, )" + merges, true);
    return rows;
}

// A whole file around the "model" members: whitespace pre-tokenizer, [UNK] as unknown token.
inline QByteArray wrapModelMembers(const QByteArray& model) {
    return R"({"version": "1.0", "pre_tokenizer": {"type": "Whitespace"},
            "model": {"unk_token": "[UNK]", )" +
           model + "}}";
}

// Not UTF-8: a broken two-byte sequence as a vocabulary key.
inline QByteArray invalidUtf8TokenizerJson() {
    QByteArray file =
        R"({"model": {"type": "BPE", "vocab": {"l": 1, "o": 2, "lo": 3, "X": 4}, "merges": ["l o"]}})";
    file.replace('X', "\xC3\x28");
    return file;
}
