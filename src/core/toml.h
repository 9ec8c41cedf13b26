// Internal: the one include of toml++. Its internal asserts abort on some malformed input in
// builds without NDEBUG (the sanitizer build); hostile files must get an error, not an abort,
// so every build behaves like the release build.
#pragma once
#ifndef TOML_ASSERT
#define TOML_ASSERT(expr) ((void)0)
#endif
#include <toml++/toml.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

#include "rekap/status.h"

namespace rekap {

// toml++ 3.3 (Debian 12) asks whether a non-ASCII character is whitespace in a way that reaches
// __builtin_unreachable() for most code points (U+00A1..U+0499 among them: "é"): undefined
// behaviour, not an error (upstream issues marzer/tomlplusplus#190 and #295). It asks that of a
// character outside strings and comments (after a key, a value, a malformed number...), and in a
// multi-line basic string of the first character after a line-ending backslash's blanks.
//
// So the text is first parsed with every non-ASCII byte replaced by '~', which TOML allows only
// in strings and comments: an error there is the file's error (a non-ASCII character where '~'
// was refused is named as such). When that copy parses, every non-ASCII character is in a string
// or a comment, and the one remaining case is found by a scan that is exact on valid TOML. The
// valid but rare string it refuses says how to write it. Call before toml::parse(text).
inline Status CheckTomlText(std::string_view text, const std::string& origin) {
  auto non_ascii = [](char c) { return static_cast<unsigned char>(c) >= 0x80; };
  const size_t first = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;  // toml++ skips a BOM
  if (std::none_of(text.begin() + first, text.end(), non_ascii)) return Status::Ok();
  auto refuse = [&](size_t line, size_t col, const std::string& id_msg, const std::string& en_msg) {
    return InvalidArgument(origin + ":" + std::to_string(line) + ":" + std::to_string(col) +
                           ": TOML tidak sah: " + id_msg + " / invalid TOML: " + en_msg);
  };
  std::string ascii(text);
  std::replace_if(ascii.begin() + first, ascii.end(), non_ascii, '~');
  {
    toml::parse_result parsed = toml::parse(ascii, origin);
    if (parsed.failed()) {
      const auto& e = parsed.error();
      const auto& at = e.source().begin;
      // The error's byte: columns count characters, and every character of `ascii` is one byte.
      size_t pos = first, line = 1;
      while (line < at.line && pos < ascii.size()) {
        if (ascii[pos++] == '\n') ++line;
      }
      pos += at.column > 0 ? at.column - 1 : 0;
      if (pos < text.size() && non_ascii(text[pos])) {
        return refuse(at.line, at.column, "karakter non-ASCII di luar teks atau komentar (taruh dalam tanda kutip)",
                      "non-ASCII character outside a string or comment (put it in quotes)");
      }
      return refuse(at.line, at.column, std::string(e.description()), std::string(e.description()));
    }
  }
  // Valid TOML: find multi-line basic strings and their line-ending backslashes.
  enum class In { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };
  In in = In::kCode;
  size_t line = 1, line_start = first;
  auto at = [&](size_t i) { return i < text.size() ? text[i] : '\0'; };
  auto triple = [&](size_t i, char q) { return at(i) == q && at(i + 1) == q && at(i + 2) == q; };
  for (size_t i = first; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      line_start = i + 1;
      if (in == In::kComment) in = In::kCode;
      continue;
    }
    switch (in) {
      case In::kCode:
        if (c == '#') {
          in = In::kComment;
        } else if (c == '"' || c == '\'') {
          const bool multi = triple(i, c);
          in = c == '"' ? (multi ? In::kMultiBasic : In::kBasic) : (multi ? In::kMultiLiteral : In::kLiteral);
          if (multi) i += 2;
        }
        break;
      case In::kComment:
        break;
      case In::kBasic:
        if (c == '\\') {
          ++i;  // the escaped character
        } else if (c == '"') {
          in = In::kCode;
        }
        break;
      case In::kLiteral:
        if (c == '\'') in = In::kCode;
        break;
      case In::kMultiBasic:
        if (c == '\\') {
          size_t j = i + 1;
          while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n')) {
            if (text[j] == '\n') {
              ++line;
              line_start = j + 1;
            }
            ++j;
          }
          if (j > i + 1 && non_ascii(at(j))) {
            return refuse(line, j - line_start + 1,
                          "karakter non-ASCII pertama setelah '\\' akhir baris dalam teks multi-baris (tulis sebagai \\uXXXX)",
                          "non-ASCII character first after a line-ending '\\' in a multi-line string (write it as \\uXXXX)");
          }
          i = j == i + 1 ? j : j - 1;  // an escape skips its character; a line continuation its blanks
        } else if (triple(i, '"')) {
          i += 2;
          while (at(i + 1) == '"') ++i;  // up to two quotes before the closing ones belong to the string
          in = In::kCode;
        }
        break;
      case In::kMultiLiteral:
        if (triple(i, '\'')) {
          i += 2;
          while (at(i + 1) == '\'') ++i;
          in = In::kCode;
        }
        break;
    }
  }
  return Status::Ok();
}

}  // namespace rekap
