#include "core/rule_expr.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace rekap {
namespace rule {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kMaxNesting = 32;

enum class Tok {
  kEnd, kNumber, kIdent, kLParen, kRParen, kComma, kPlus, kMinus, kStar, kSlash,
  kEq, kNe, kLe, kGe, kLt, kGt, kAnd, kOr, kNot,
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t begin = 0;  // byte offset in the expression
  size_t end = 0;
  double num = 0;
};

enum class Type { kNum, kBool };

struct Sub {
  Type type = Type::kNum;
  size_t begin = 0;
  size_t end = 0;
};

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }

bool IsComparison(Tok t) {
  return t == Tok::kEq || t == Tok::kNe || t == Tok::kLe || t == Tok::kGe || t == Tok::kLt ||
         t == Tok::kGt;
}

class Compiler {
 public:
  Compiler(std::string_view rule_id, std::string_view expr, const Symbols& symbols)
      : rule_id_(rule_id), expr_(expr), sym_(symbols) {}

  Result<CompiledRule> Run() {
    if (expr_.size() > kMaxExprLength) {
      return Fail(0, "ekspresi terlalu panjang", "expression too long");
    }
    if (!Lex()) return error_;
    Sub top;
    if (!ParseOr(&top)) return error_;
    if (Peek().kind != Tok::kEnd) {
      return Fail(Peek().begin,
                  "token tak terduga '" + std::string(TokenText(Peek())) + "'",
                  "unexpected token '" + std::string(TokenText(Peek())) + "'");
    }
    if (top.type != Type::kBool) {
      return Fail(top.begin, "aturan harus berupa perbandingan atau syarat logika",
                  "a rule must be a comparison or a logical condition");
    }
    if (out_.scalar_reads.empty() && !out_.uses_each && !out_.uses_aggregate) {
      return Fail(0, "aturan tidak membaca kolom apa pun", "the rule reads no field");
    }
    if (max_depth_ > kMaxStack) {
      return Fail(0, "ekspresi terlalu dalam", "expression too deeply nested");
    }
    std::sort(out_.scalar_reads.begin(), out_.scalar_reads.end());
    out_.scalar_reads.erase(std::unique(out_.scalar_reads.begin(), out_.scalar_reads.end()),
                            out_.scalar_reads.end());
    out_.reads = out_.scalar_reads;
    if (out_.uses_each || out_.uses_aggregate) {
      for (int i = 0; i < sym_.group_size; ++i) out_.reads.push_back(sym_.group_first + i);
    }
    std::sort(out_.reads.begin(), out_.reads.end());
    out_.reads.erase(std::unique(out_.reads.begin(), out_.reads.end()), out_.reads.end());
    out_.group_first = sym_.group_first;
    out_.group_size = sym_.group_size;
    out_.max_stack = max_depth_;
    return std::move(out_);
  }

 private:
  // ---- errors
  Status Fail(size_t offset, const std::string& id_msg, const std::string& en_msg) {
    std::string col = std::to_string(offset + 1);
    std::string rid(rule_id_);
    error_ = InvalidArgument("aturan \"" + rid + "\" kolom " + col + ": " + id_msg +
                             " / rule \"" + rid + "\" column " + col + ": " + en_msg);
    return error_;
  }
  bool FailB(size_t offset, const std::string& id_msg, const std::string& en_msg) {
    (void)Fail(offset, id_msg, en_msg);
    return false;
  }

  std::string_view TokenText(const Token& t) const {
    if (t.kind == Tok::kEnd) return "akhir/end";
    return expr_.substr(t.begin, t.end - t.begin);
  }

  // ---- lexer
  bool Lex() {
    size_t i = 0;
    const size_t n = expr_.size();
    while (true) {
      while (i < n && (expr_[i] == ' ' || expr_[i] == '\t' || expr_[i] == '\n' ||
                       expr_[i] == '\r')) {
        ++i;
      }
      Token t;
      t.begin = i;
      if (i >= n) {
        t.kind = Tok::kEnd;
        t.end = i;
        toks_.push_back(t);
        return true;
      }
      char c = expr_[i];
      char d = i + 1 < n ? expr_[i + 1] : '\0';
      if (IsDigit(c)) {
        size_t j = i;
        while (j < n && IsDigit(expr_[j])) ++j;
        if (j < n && expr_[j] == '.') {
          ++j;
          if (j >= n || !IsDigit(expr_[j])) {
            return FailB(i, "angka tidak sah '" + std::string(expr_.substr(i, j - i)) + "'",
                         "malformed number '" + std::string(expr_.substr(i, j - i)) + "'");
          }
          while (j < n && IsDigit(expr_[j])) ++j;
        }
        if (j < n && IsIdentChar(expr_[j])) {
          size_t k = j;
          while (k < n && IsIdentChar(expr_[k])) ++k;
          return FailB(i, "angka tidak sah '" + std::string(expr_.substr(i, k - i)) + "'",
                       "malformed number '" + std::string(expr_.substr(i, k - i)) + "'");
        }
        if (j - i > 15) {
          return FailB(i, "angka terlalu panjang", "number too long");
        }
        double v = 0;
        auto [p, ec] = std::from_chars(expr_.data() + i, expr_.data() + j, v);
        if (ec != std::errc() || p != expr_.data() + j) {
          return FailB(i, "angka tidak sah", "malformed number");
        }
        t.kind = Tok::kNumber;
        t.num = v;
        t.end = j;
      } else if (IsIdentStart(c)) {
        size_t j = i;
        while (j < n && IsIdentChar(expr_[j])) ++j;
        t.kind = Tok::kIdent;
        t.end = j;
      } else {
        size_t len = 1;
        switch (c) {
          case '(': t.kind = Tok::kLParen; break;
          case ')': t.kind = Tok::kRParen; break;
          case ',': t.kind = Tok::kComma; break;
          case '+': t.kind = Tok::kPlus; break;
          case '-': t.kind = Tok::kMinus; break;
          case '*': t.kind = Tok::kStar; break;
          case '/': t.kind = Tok::kSlash; break;
          case '<':
            if (d == '=') { t.kind = Tok::kLe; len = 2; } else { t.kind = Tok::kLt; }
            break;
          case '>':
            if (d == '=') { t.kind = Tok::kGe; len = 2; } else { t.kind = Tok::kGt; }
            break;
          case '=':
            if (d != '=') {
              return FailB(i, "'=' tunggal; maksudnya '=='?", "single '='; did you mean '=='?");
            }
            t.kind = Tok::kEq;
            len = 2;
            break;
          case '!':
            if (d == '=') { t.kind = Tok::kNe; len = 2; } else { t.kind = Tok::kNot; }
            break;
          case '&':
            if (d != '&') {
              return FailB(i, "'&' tunggal; maksudnya '&&'?", "single '&'; did you mean '&&'?");
            }
            t.kind = Tok::kAnd;
            len = 2;
            break;
          case '|':
            if (d != '|') {
              return FailB(i, "'|' tunggal; maksudnya '||'?", "single '|'; did you mean '||'?");
            }
            t.kind = Tok::kOr;
            len = 2;
            break;
          default: {
            std::string ch = (static_cast<unsigned char>(c) >= 0x20 &&
                              static_cast<unsigned char>(c) < 0x7f)
                                 ? std::string(1, c)
                                 : "\\x" + HexByte(static_cast<unsigned char>(c));
            return FailB(i, "karakter tak dikenal '" + ch + "'",
                         "unexpected character '" + ch + "'");
          }
        }
        t.end = i + len;
      }
      toks_.push_back(t);
      i = t.end;
    }
  }

  static std::string HexByte(unsigned char c) {
    const char* digits = "0123456789abcdef";
    return std::string{digits[c >> 4], digits[c & 15]};
  }

  // ---- parser (emits postfix code as it goes)
  const Token& Peek(size_t ahead = 0) const {
    size_t i = std::min(pos_ + ahead, toks_.size() - 1);
    return toks_[i];
  }
  const Token& Next() {
    const Token& t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  size_t PrevEnd() const { return pos_ > 0 ? toks_[pos_ - 1].end : 0; }

  void Emit(Op op, int delta, int32_t arg = 0, double num = 0) {
    out_.code.push_back(Instr{op, arg, num});
    depth_ += delta;
    max_depth_ = std::max(max_depth_, depth_);
  }

  bool Enter(size_t offset) {
    if (++nesting_ > kMaxNesting) {
      return FailB(offset, "ekspresi terlalu dalam", "expression too deeply nested");
    }
    return true;
  }

  bool ExpectType(const Sub& s, Type want) {
    if (s.type == want) return true;
    std::string text(expr_.substr(s.begin, s.end - s.begin));
    if (want == Type::kNum) {
      return FailB(s.begin, "'" + text + "' adalah syarat, bukan angka",
                   "'" + text + "' is a condition, not a number");
    }
    return FailB(s.begin, "'" + text + "' adalah angka, bukan syarat",
                 "'" + text + "' is a number, not a condition");
  }

  // or := and { "||" and }
  bool ParseOr(Sub* out) {
    if (!Enter(Peek().begin)) return false;
    Sub lhs;
    if (!ParseAnd(&lhs)) return false;
    while (Peek().kind == Tok::kOr) {
      Next();
      Sub rhs;
      if (!ExpectType(lhs, Type::kBool) || !ParseAnd(&rhs) || !ExpectType(rhs, Type::kBool)) {
        return false;
      }
      Emit(Op::kOr, -1);
      lhs = Sub{Type::kBool, lhs.begin, rhs.end};
    }
    --nesting_;
    *out = lhs;
    return true;
  }

  // and := not { "&&" not }
  bool ParseAnd(Sub* out) {
    Sub lhs;
    if (!ParseNot(&lhs)) return false;
    while (Peek().kind == Tok::kAnd) {
      Next();
      Sub rhs;
      if (!ExpectType(lhs, Type::kBool) || !ParseNot(&rhs) || !ExpectType(rhs, Type::kBool)) {
        return false;
      }
      Emit(Op::kAnd, -1);
      lhs = Sub{Type::kBool, lhs.begin, rhs.end};
    }
    *out = lhs;
    return true;
  }

  // not := "!" not | comparison
  bool ParseNot(Sub* out) {
    if (Peek().kind == Tok::kNot) {
      size_t begin = Next().begin;
      if (!Enter(begin)) return false;
      Sub inner;
      if (!ParseNot(&inner) || !ExpectType(inner, Type::kBool)) return false;
      --nesting_;
      Emit(Op::kNot, 0);
      *out = Sub{Type::kBool, begin, inner.end};
      return true;
    }
    return ParseComparison(out);
  }

  // comparison := additive [ cmp additive ]
  bool ParseComparison(Sub* out) {
    Sub lhs;
    if (!ParseAdditive(&lhs)) return false;
    if (!IsComparison(Peek().kind)) {
      *out = lhs;
      return true;
    }
    Tok op = Next().kind;
    Sub rhs;
    if (!ExpectType(lhs, Type::kNum) || !ParseAdditive(&rhs) || !ExpectType(rhs, Type::kNum)) {
      return false;
    }
    if (IsComparison(Peek().kind)) {
      return FailB(Peek().begin, "perbandingan tidak boleh berantai; gunakan '&&'",
                   "comparisons cannot be chained; use '&&'");
    }
    Op code = Op::kEq;
    switch (op) {
      case Tok::kEq: code = Op::kEq; break;
      case Tok::kNe: code = Op::kNe; break;
      case Tok::kLt: code = Op::kLt; break;
      case Tok::kLe: code = Op::kLe; break;
      case Tok::kGt: code = Op::kGt; break;
      case Tok::kGe: code = Op::kGe; break;
      default: break;
    }
    Emit(code, -1, static_cast<int32_t>(out_.comparisons.size()));
    out_.comparisons.emplace_back(expr_.substr(lhs.begin, rhs.end - lhs.begin));
    *out = Sub{Type::kBool, lhs.begin, rhs.end};
    return true;
  }

  // additive := term { ("+" | "-") term }
  bool ParseAdditive(Sub* out) {
    Sub lhs;
    if (!ParseTerm(&lhs)) return false;
    while (Peek().kind == Tok::kPlus || Peek().kind == Tok::kMinus) {
      Tok op = Next().kind;
      Sub rhs;
      if (!ExpectType(lhs, Type::kNum) || !ParseTerm(&rhs) || !ExpectType(rhs, Type::kNum)) {
        return false;
      }
      Emit(op == Tok::kPlus ? Op::kAdd : Op::kSub, -1);
      lhs = Sub{Type::kNum, lhs.begin, rhs.end};
    }
    *out = lhs;
    return true;
  }

  // term := unary { ("*" | "/") unary }
  bool ParseTerm(Sub* out) {
    Sub lhs;
    if (!ParseUnary(&lhs)) return false;
    while (Peek().kind == Tok::kStar || Peek().kind == Tok::kSlash) {
      Tok op = Next().kind;
      Sub rhs;
      if (!ExpectType(lhs, Type::kNum) || !ParseUnary(&rhs) || !ExpectType(rhs, Type::kNum)) {
        return false;
      }
      Emit(op == Tok::kStar ? Op::kMul : Op::kDiv, -1);
      lhs = Sub{Type::kNum, lhs.begin, rhs.end};
    }
    *out = lhs;
    return true;
  }

  // unary := "-" unary | primary
  bool ParseUnary(Sub* out) {
    if (Peek().kind == Tok::kMinus) {
      size_t begin = Next().begin;
      if (!Enter(begin)) return false;
      Sub inner;
      if (!ParseUnary(&inner) || !ExpectType(inner, Type::kNum)) return false;
      --nesting_;
      Emit(Op::kNeg, 0);
      *out = Sub{Type::kNum, begin, inner.end};
      return true;
    }
    return ParsePrimary(out);
  }

  bool IsGroupArg() const {
    const Token& t = Peek();
    if (t.kind != Tok::kIdent || expr_.substr(t.begin, t.end - t.begin) != sym_.group) {
      return false;
    }
    Tok after = Peek(1).kind;
    return after == Tok::kRParen || after == Tok::kComma;
  }

  bool ExpectCloseParen(std::string_view what) {
    if (Peek().kind == Tok::kRParen) {
      Next();
      return true;
    }
    std::string tok(TokenText(Peek()));
    return FailB(Peek().begin,
                 "diharapkan ')' untuk " + std::string(what) + ", ditemukan '" + tok + "'",
                 "expected ')' to close " + std::string(what) + ", found '" + tok + "'");
  }

  // call := name "(" args ")"
  bool ParseCall(const Token& name_tok, Sub* out) {
    std::string name(expr_.substr(name_tok.begin, name_tok.end - name_tok.begin));
    const Token& open = Next();  // "("
    const std::string group(sym_.group);
    auto bad_args = [&](const std::string& id_usage, const std::string& en_usage) {
      return FailB(name_tok.begin, "argumen salah untuk " + name + "(): " + id_usage,
                   "wrong arguments to " + name + "(): " + en_usage);
    };
    if (!Enter(open.begin)) return false;
    bool ok = true;
    if (name == "sum" || name == "each" || ((name == "max" || name == "min") && IsGroupArg() &&
                                            Peek(1).kind == Tok::kRParen)) {
      if (!IsGroupArg()) {
        return bad_args("harus nama kelompok '" + group + "'",
                        "expects the group name '" + group + "'");
      }
      Next();
      if (name == "sum") Emit(Op::kSum, 1);
      else if (name == "max") Emit(Op::kMax, 1);
      else if (name == "min") Emit(Op::kMin, 1);
      else Emit(Op::kEach, 1);
      if (name == "each") out_.uses_each = true;
      else out_.uses_aggregate = true;
      ok = ExpectCloseParen(name + "(");
    } else if (name == "max" || name == "min") {
      Sub a, b;
      if (!ParseOr(&a) || !ExpectType(a, Type::kNum)) return false;
      if (Peek().kind != Tok::kComma) {
        return bad_args("harus nama kelompok atau dua angka", "expects a group or two numbers");
      }
      Next();
      if (!ParseOr(&b) || !ExpectType(b, Type::kNum)) return false;
      if (Peek().kind == Tok::kComma) {
        return bad_args("paling banyak dua angka", "at most two numbers");
      }
      Emit(name == "max" ? Op::kMax2 : Op::kMin2, -1);
      ok = ExpectCloseParen(name + "(");
    } else if (name == "abs" || name == "ceil" || name == "floor") {
      Sub a;
      if (!ParseOr(&a) || !ExpectType(a, Type::kNum)) return false;
      if (Peek().kind == Tok::kComma) return bad_args("satu angka", "one number");
      Emit(name == "abs" ? Op::kAbs : name == "ceil" ? Op::kCeil : Op::kFloor, 0);
      ok = ExpectCloseParen(name + "(");
    } else {
      return FailB(name_tok.begin, "fungsi tak dikenal '" + name + "'",
                   "unknown function '" + name + "'");
    }
    if (!ok) return false;
    --nesting_;
    *out = Sub{Type::kNum, name_tok.begin, PrevEnd()};
    return true;
  }

  // primary := number | name | name "(" args ")" | "(" or ")"
  bool ParsePrimary(Sub* out) {
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kNumber:
        Next();
        Emit(Op::kConst, 1, 0, t.num);
        *out = Sub{Type::kNum, t.begin, t.end};
        return true;
      case Tok::kLParen: {
        Next();
        Sub inner;
        if (!ParseOr(&inner)) return false;
        if (!ExpectCloseParen("'('")) return false;
        *out = Sub{inner.type, t.begin, PrevEnd()};
        return true;
      }
      case Tok::kIdent: {
        const Token name_tok = Next();
        std::string_view name = expr_.substr(name_tok.begin, name_tok.end - name_tok.begin);
        if (Peek().kind == Tok::kLParen) {
          if (!IsFunctionName(name)) {
            return FailB(name_tok.begin, "fungsi tak dikenal '" + std::string(name) + "'",
                         "unknown function '" + std::string(name) + "'");
          }
          return ParseCall(name_tok, out);
        }
        *out = Sub{Type::kNum, name_tok.begin, name_tok.end};
        if (sym_.fields) {
          auto it = sym_.fields->find(name);
          if (it != sym_.fields->end()) {
            Emit(Op::kLoad, 1, it->second);
            out_.scalar_reads.push_back(it->second);
            return true;
          }
        }
        if (sym_.params) {
          auto it = sym_.params->find(name);
          if (it != sym_.params->end()) {
            Emit(Op::kConst, 1, 0, it->second);
            return true;
          }
        }
        std::string s(name);
        if (name == sym_.group) {
          return FailB(name_tok.begin,
                       "kelompok '" + s + "' hanya boleh di dalam sum(), max(), min() atau each()",
                       "group '" + s + "' may only be used inside sum(), max(), min() or each()");
        }
        if (IsFunctionName(name)) {
          return FailB(name_tok.begin, "fungsi '" + s + "' perlu tanda kurung",
                       "function '" + s + "' needs parentheses");
        }
        return FailB(name_tok.begin, "kolom atau parameter tak dikenal '" + s + "'",
                     "unknown field or parameter '" + s + "'");
      }
      default: {
        std::string tok(TokenText(t));
        return FailB(t.begin, "token tak terduga '" + tok + "'",
                     "unexpected token '" + tok + "'");
      }
    }
  }

  std::string_view rule_id_;
  std::string_view expr_;
  const Symbols& sym_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;
  int max_depth_ = 0;
  int nesting_ = 0;
  CompiledRule out_;
  Status error_;
};

inline double Truth(bool b) { return b ? 1.0 : 0.0; }

template <bool kTrace>
double Run(const CompiledRule& r, const Value* v, int member,
           std::vector<std::pair<double, double>>* sides) {
  double st[kMaxStack];
  int sp = 0;
  const int gf = r.group_first;
  const int gn = r.group_size;
  for (const Instr& in : r.code) {
    switch (in.op) {
      case Op::kConst: st[sp++] = in.num; break;
      case Op::kLoad: st[sp++] = v[in.arg]; break;
      case Op::kEach: st[sp++] = v[gf + member]; break;
      case Op::kSum: {
        double s = 0;
        for (int i = 0; i < gn; ++i) s += v[gf + i];
        st[sp++] = s;
        break;
      }
      case Op::kMax: {
        double m = gn > 0 ? v[gf] : kNaN;
        for (int i = 1; i < gn; ++i) m = std::max<double>(m, v[gf + i]);
        st[sp++] = m;
        break;
      }
      case Op::kMin: {
        double m = gn > 0 ? v[gf] : kNaN;
        for (int i = 1; i < gn; ++i) m = std::min<double>(m, v[gf + i]);
        st[sp++] = m;
        break;
      }
      case Op::kNeg: st[sp - 1] = -st[sp - 1]; break;
      case Op::kAbs: st[sp - 1] = std::fabs(st[sp - 1]); break;
      case Op::kCeil: st[sp - 1] = std::ceil(st[sp - 1]); break;
      case Op::kFloor: st[sp - 1] = std::floor(st[sp - 1]); break;
      case Op::kNot: {
        double a = st[sp - 1];
        st[sp - 1] = std::isnan(a) ? kNaN : Truth(a == 0.0);
        break;
      }
      case Op::kAdd: --sp; st[sp - 1] += st[sp]; break;
      case Op::kSub: --sp; st[sp - 1] -= st[sp]; break;
      case Op::kMul: --sp; st[sp - 1] *= st[sp]; break;
      case Op::kDiv:
        --sp;
        st[sp - 1] = st[sp] == 0.0 ? kNaN : st[sp - 1] / st[sp];
        break;
      case Op::kMax2: {
        --sp;
        double a = st[sp - 1], b = st[sp];
        st[sp - 1] = (std::isnan(a) || std::isnan(b)) ? kNaN : std::max(a, b);
        break;
      }
      case Op::kMin2: {
        --sp;
        double a = st[sp - 1], b = st[sp];
        st[sp - 1] = (std::isnan(a) || std::isnan(b)) ? kNaN : std::min(a, b);
        break;
      }
      case Op::kEq:
      case Op::kNe:
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        --sp;
        double a = st[sp - 1], b = st[sp];
        if constexpr (kTrace) sides->emplace_back(a, b);
        double res;
        if (std::isnan(a) || std::isnan(b)) {
          res = kNaN;
        } else {
          bool t = false;
          switch (in.op) {
            case Op::kEq: t = a == b; break;
            case Op::kNe: t = a != b; break;
            case Op::kLt: t = a < b; break;
            case Op::kLe: t = a <= b; break;
            case Op::kGt: t = a > b; break;
            default: t = a >= b; break;
          }
          res = Truth(t);
        }
        st[sp - 1] = res;
        break;
      }
      case Op::kAnd: {
        --sp;
        double a = st[sp - 1], b = st[sp];
        // Kleene: false dominates, then undefined.
        st[sp - 1] = (a == 0.0 || b == 0.0) ? 0.0 : (std::isnan(a) || std::isnan(b)) ? kNaN : 1.0;
        break;
      }
      case Op::kOr: {
        --sp;
        double a = st[sp - 1], b = st[sp];
        // Kleene: true dominates, then undefined.
        st[sp - 1] = (a == 1.0 || b == 1.0) ? 1.0 : (std::isnan(a) || std::isnan(b)) ? kNaN : 0.0;
        break;
      }
    }
  }
  return sp == 1 ? st[0] : kNaN;
}

}  // namespace

bool IsFunctionName(std::string_view name) {
  return name == "sum" || name == "max" || name == "min" || name == "each" || name == "abs" ||
         name == "ceil" || name == "floor";
}

Result<CompiledRule> Compile(std::string_view rule_id, std::string_view expr,
                             const Symbols& symbols) {
  Compiler c(rule_id, expr, symbols);
  return c.Run();
}

double Evaluate(const CompiledRule& rule, const Value* values, int member) {
  return Run<false>(rule, values, member, nullptr);
}

double EvaluateTraced(const CompiledRule& rule, const Value* values, int member,
                      std::vector<std::pair<double, double>>* sides) {
  return Run<true>(rule, values, member, sides);
}

std::string FormatNumber(double x) {
  if (std::isnan(x)) return "tak-terdefinisi/undefined";
  char buf[64];
  if (std::fabs(x) < 1e15 && x == std::floor(x)) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(x));
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.4f", x);
  std::string s(buf);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string DescribeSides(const CompiledRule& rule,
                          const std::vector<std::pair<double, double>>& sides) {
  std::string out;
  for (size_t i = 0; i < sides.size(); ++i) {
    if (i > 0) out += "; ";
    if (sides.size() > 1 && i < rule.comparisons.size()) {
      out += "[" + rule.comparisons[i] + "] ";
    }
    out += "kiri/left=" + FormatNumber(sides[i].first) +
           " kanan/right=" + FormatNumber(sides[i].second);
  }
  return out;
}

}  // namespace rule
}  // namespace rekap
