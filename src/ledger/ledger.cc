// rekap: canonical event encoding, hex, SHA-256. The byte format is docs/ledger.md.

#include "rekap/ledger.h"


#include "sha256.h"

#include <cassert>
#include <cstring>
#include <string>
#include <string_view>

namespace rekap {
namespace {


// ---- format constants (docs/ledger.md) -------------------------------------------------

constexpr char kMagic[3] = {'R', 'K', 'E'};
constexpr uint8_t kVersion = 0x01;
constexpr uint8_t kMinKind = 1;
constexpr uint8_t kMaxKind = 6;
// The form caps values at 999, but data imported from another system keeps what it said
// (e.g. a misread 121124 in KPU's 2024 data), flagged by the range rule; the ledger stores it.
constexpr int32_t kMaxValue = 999999;
constexpr int32_t kMissing = -1;

struct StringSpec {
  const char* name;
  size_t max;
  std::string Event::*member;
};
constexpr StringSpec kStrings[] = {
    {"contest", 32, &Event::contest}, {"subject", 16, &Event::subject},
    {"source", 64, &Event::source},   {"author", 64, &Event::author},
    {"reason", 1000, &Event::reason},
};

// ---- text rules --------------------------------------------------------------------------

enum class TextError { kNone, kNul, kUtf8 };
struct TextCheck {
  TextError error = TextError::kNone;
  size_t at = 0;  // byte offset of the first bad byte within the string
};

// Strict UTF-8 (Unicode Table 3-7: no overlong forms, no surrogates, <= U+10FFFF), no NUL.
TextCheck CheckText(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (c < 0x80) {
      if (c == 0) return {TextError::kNul, i};
      ++i;
      continue;
    }
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c == 0xE0) {
      len = 3, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      len = 3;
    } else if (c == 0xED) {
      len = 3, hi = 0x9F;
    } else if (c == 0xF0) {
      len = 4, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      len = 4;
    } else if (c == 0xF4) {
      len = 4, hi = 0x8F;
    } else {
      return {TextError::kUtf8, i};
    }
    if (n - i < len || p[i + 1] < lo || p[i + 1] > hi) return {TextError::kUtf8, i};
    for (size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return {TextError::kUtf8, i};
    }
    i += len;
  }
  return {};
}

// ---- rules shared by CheckEncodable (InvalidArgument) and Decode (DataLoss) ---------------

std::string TooLong(const char* name, size_t max, size_t got) {
  return std::string(name) + " longer than " + std::to_string(max) + " bytes (" +
         std::to_string(got) + ")";
}
std::string BadText(const char* name, const TextCheck& t) {
  return (t.error == TextError::kNul ? std::string("NUL byte in ") : "invalid UTF-8 in ") + name +
         " (at byte " + std::to_string(t.at) + ")";
}
std::string NotIncreasing(const char* list, uint16_t prev, uint16_t field) {
  return std::string(list) + " fields not strictly increasing (" + std::to_string(field) +
         " after " + std::to_string(prev) + ")";
}
std::string OutOfRange(const char* list, uint16_t field, int32_t v, int32_t min) {
  return std::string(list) + " value out of range (field " + std::to_string(field) + " = " +
         std::to_string(v) + ", allowed " + std::to_string(min) + ".." + std::to_string(kMaxValue) +
         ")";
}

// Empty string when `e` is encodable, else the rule it breaks.
std::string Violation(const Event& e) {
  const auto k = static_cast<uint8_t>(e.kind);
  if (k < kMinKind || k > kMaxKind) return "unknown kind (" + std::to_string(k) + ")";
  for (const StringSpec& s : kStrings) {
    const std::string& v = e.*(s.member);
    if (v.size() > s.max) return TooLong(s.name, s.max, v.size());
    if (TextCheck t = CheckText(v); t.error != TextError::kNone) return BadText(s.name, t);
  }
  struct List {
    const char* name;
    const std::vector<FieldValue>* v;
    int32_t min;
  };
  for (const List& l : {List{"values", &e.values, 0}, List{"previous", &e.previous, kMissing}}) {
    if (l.v->size() > 0xFFFF) return std::string(l.name) + " count over 65535";
    for (size_t i = 0; i < l.v->size(); ++i) {
      const FieldValue& f = (*l.v)[i];
      if (i > 0 && (*l.v)[i - 1].field >= f.field) {
        return NotIncreasing(l.name, (*l.v)[i - 1].field, f.field);
      }
      if (f.value < l.min || f.value > kMaxValue)
        return OutOfRange(l.name, f.field, f.value, l.min);
    }
  }
  return {};
}

// ---- big-endian writers ------------------------------------------------------------------

inline char* Put8(char* p, uint8_t v) {
  *p = static_cast<char>(v);
  return p + 1;
}
inline char* Put16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v >> 8);
  p[1] = static_cast<char>(v);
  return p + 2;
}
inline char* Put32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (24 - 8 * i));
  return p + 4;
}
inline char* Put64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (56 - 8 * i));
  return p + 8;
}
inline char* PutBytes(char* p, const void* src, size_t n) {
  if (n) std::memcpy(p, src, n);
  return p + n;
}
inline char* PutString(char* p, const std::string& s) {
  return PutBytes(Put16(p, static_cast<uint16_t>(s.size())), s.data(), s.size());
}
inline char* PutList(char* p, const std::vector<FieldValue>& l) {
  p = Put16(p, static_cast<uint16_t>(l.size()));
  for (const FieldValue& f : l) p = Put32(Put16(p, f.field), static_cast<uint32_t>(f.value));
  return p;
}

// ---- reader ------------------------------------------------------------------------------

class Reader {
 public:
  explicit Reader(std::string_view b)
      : p_(reinterpret_cast<const unsigned char*>(b.data())), n_(b.size()) {}
  size_t pos() const { return pos_; }
  size_t left() const { return n_ - pos_; }

  // Error at `off`: "ledger decode: offset N: <rule>".
  static Status Err(size_t off, const std::string& rule) {
    return DataLoss("ledger decode: offset " + std::to_string(off) + ": " + rule);
  }
  Status Need(size_t n, const char* what) const {
    if (left() >= n) return Status::Ok();
    return Err(pos_, "truncated (need " + std::to_string(n) + " bytes for " + what + ", " +
                         std::to_string(left()) + " left)");
  }
  uint8_t U8() { return p_[pos_++]; }
  uint16_t U16() {
    uint16_t v = static_cast<uint16_t>((p_[pos_] << 8) | p_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | p_[pos_ + i];
    pos_ += 4;
    return v;
  }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | p_[pos_ + i];
    pos_ += 8;
    return v;
  }
  std::string_view Bytes(size_t n) {
    std::string_view v(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n;
    return v;
  }
  void Raw(uint8_t* out, size_t n) {
    std::memcpy(out, p_ + pos_, n);
    pos_ += n;
  }

 private:
  const unsigned char* p_;
  size_t n_;
  size_t pos_ = 0;
};

Status ReadString(Reader& r, const StringSpec& s, std::string* out) {
  REKAP_RETURN_IF_ERROR(r.Need(2, s.name));
  const size_t at = r.pos();
  const uint16_t len = r.U16();
  if (len > s.max) return Reader::Err(at, TooLong(s.name, s.max, len));
  REKAP_RETURN_IF_ERROR(r.Need(len, s.name));
  const size_t start = r.pos();
  std::string_view v = r.Bytes(len);
  if (TextCheck t = CheckText(v); t.error != TextError::kNone) {
    return Reader::Err(start + t.at, BadText(s.name, t));
  }
  out->assign(v);
  return Status::Ok();
}

Status ReadList(Reader& r, const char* name, int32_t min, std::vector<FieldValue>* out) {
  REKAP_RETURN_IF_ERROR(r.Need(2, name));
  const uint16_t count = r.U16();
  REKAP_RETURN_IF_ERROR(r.Need(size_t{count} * 6, name));
  out->resize(count);
  for (uint16_t i = 0; i < count; ++i) {
    const size_t at = r.pos();
    FieldValue& f = (*out)[i];
    f.field = r.U16();
    f.value = static_cast<int32_t>(r.U32());
    if (i > 0 && (*out)[i - 1].field >= f.field) {
      return Reader::Err(at, NotIncreasing(name, (*out)[i - 1].field, f.field));
    }
    if (f.value < min || f.value > kMaxValue) {
      return Reader::Err(at + 2, OutOfRange(name, f.field, f.value, min));
    }
  }
  return Status::Ok();
}

}  // namespace

// ---- hex and hashing ---------------------------------------------------------------------

std::string ToHex(const Hash& h) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(64, '\0');
  for (size_t i = 0; i < h.size(); ++i) {
    out[2 * i] = kDigits[h[i] >> 4];
    out[2 * i + 1] = kDigits[h[i] & 0xF];
  }
  return out;
}

Result<Hash> HashFromHex(std::string_view hex) {
  if (hex.size() != 64) {
    return InvalidArgument("hash: harus 64 digit heksadesimal / must be 64 hex digits (got " +
                           std::to_string(hex.size()) + " characters)");
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Hash h{};
  for (size_t i = 0; i < 32; ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return InvalidArgument("hash: karakter bukan heksadesimal / non-hex character at position " +
                             std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
    }
    h[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return h;
}

Hash Sha256(std::string_view bytes) {
  Hash h;
  internal::Sha256Prefixed(nullptr, 0, bytes.data(), bytes.size(), h.data());
  return h;
}

Hash EventHash(std::string_view encoded) { return Sha256(encoded); }

std::string_view EventKindName(EventKind k) {
  switch (k) {
    case EventKind::kSubmission:
      return "submission";
    case EventKind::kCorrection:
      return "correction";
    case EventKind::kAcceptance:
      return "acceptance";
    case EventKind::kObjection:
      return "objection";
    case EventKind::kAdoption:
      return "adoption";
    case EventKind::kPublication:
      return "publication";
  }
  return "unknown";
}

// ---- encode / decode ---------------------------------------------------------------------

Status CheckEncodable(const Event& e) {
  std::string v = Violation(e);
  if (v.empty()) return Status::Ok();
  return InvalidArgument("ledger event: " + v);
}

std::string Encode(const Event& e) {
  assert(Violation(e).empty() && "Encode: event breaks an encoding rule (see CheckEncodable)");
  size_t size = 4 + 8 + 1 + 8 + 32 + 1 + 2 + 2;
  for (const StringSpec& s : kStrings) size += 2 + (e.*(s.member)).size();
  if (e.photo) size += 32;
  size += 6 * (e.values.size() + e.previous.size());

  std::string out(size, '\0');
  char* p = out.data();
  p = PutBytes(p, kMagic, 3);
  p = Put8(p, kVersion);
  p = Put64(p, e.seq);
  p = Put8(p, static_cast<uint8_t>(e.kind));
  p = Put64(p, static_cast<uint64_t>(e.time_ms));
  for (const StringSpec& s : kStrings) p = PutString(p, e.*(s.member));
  p = PutBytes(p, e.prev.data(), 32);
  p = Put8(p, e.photo ? 1 : 0);
  if (e.photo) p = PutBytes(p, e.photo->data(), 32);
  p = PutList(p, e.values);
  p = PutList(p, e.previous);
  assert(p == out.data() + out.size());
  (void)p;
  return out;
}

Result<Event> Decode(std::string_view bytes) {
  Reader r(bytes);
  Event e;
  REKAP_RETURN_IF_ERROR(r.Need(4, "magic"));
  if (std::memcmp(bytes.data(), kMagic, 3) != 0) {
    return Reader::Err(0, "bad magic (expected \"RKE\")");
  }
  r.Bytes(3);
  if (uint8_t v = r.U8(); v != kVersion) {
    return Reader::Err(3, "unsupported version (" + std::to_string(v) + ", expected 1)");
  }
  REKAP_RETURN_IF_ERROR(r.Need(8 + 1 + 8, "seq, kind, time_ms"));
  e.seq = r.U64();
  const uint8_t kind = r.U8();
  if (kind < kMinKind || kind > kMaxKind) {
    return Reader::Err(r.pos() - 1, "unknown kind (" + std::to_string(kind) + ")");
  }
  e.kind = static_cast<EventKind>(kind);
  e.time_ms = static_cast<int64_t>(r.U64());
  for (const StringSpec& s : kStrings) REKAP_RETURN_IF_ERROR(ReadString(r, s, &(e.*(s.member))));
  REKAP_RETURN_IF_ERROR(r.Need(32 + 1, "prev, photo presence"));
  r.Raw(e.prev.data(), 32);
  const uint8_t present = r.U8();
  if (present > 1) {
    return Reader::Err(r.pos() - 1,
                       "photo presence byte not 0 or 1 (" + std::to_string(present) + ")");
  }
  if (present) {
    REKAP_RETURN_IF_ERROR(r.Need(32, "photo"));
    e.photo.emplace();
    r.Raw(e.photo->data(), 32);
  }
  REKAP_RETURN_IF_ERROR(ReadList(r, "values", 0, &e.values));
  REKAP_RETURN_IF_ERROR(ReadList(r, "previous", kMissing, &e.previous));
  if (r.left() != 0) {
    return Reader::Err(r.pos(),
                       "trailing bytes (" + std::to_string(r.left()) + " after the event)");
  }
  return e;
}

}  // namespace rekap
