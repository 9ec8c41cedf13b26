// Tests of the canonical event encoding (docs/ledger.md), hex and SHA-256.

#include "rekap/ledger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace rekap {
namespace {

using ::testing::HasSubstr;

Hash Fill(uint8_t b) {
  Hash h;
  h.fill(b);
  return h;
}

// A writer that follows the grammar of docs/ledger.md field by field, independently of
// Encode(), so that tests can build both valid and deliberately broken byte strings.
struct RawEvent {
  std::string magic = "RKE";
  uint8_t version = 1;
  uint64_t seq = 42;
  uint8_t kind = 2;
  int64_t time_ms = 1707879600123;  // 2024-02-14T03:00:00.123Z
  std::vector<std::string> strings = {"ppwp", "3171010001001", "kpps", "kpps:3171010001001",
                                      "salah baca"};
  std::string prev = std::string(32, '\x11');
  uint8_t presence = 1;
  std::string photo = std::string(32, '\x22');
  std::vector<std::pair<uint16_t, int32_t>> values = {{0, 120}, {1, 95}, {2, 7}};
  std::vector<std::pair<uint16_t, int32_t>> previous = {{0, 102}, {1, -1}};
  std::string trailing;

  static void U16(std::string* o, uint16_t v) {
    o->push_back(static_cast<char>(v >> 8));
    o->push_back(static_cast<char>(v));
  }
  static void U32(std::string* o, uint32_t v) {
    for (int i = 3; i >= 0; --i) o->push_back(static_cast<char>(v >> (8 * i)));
  }
  static void U64(std::string* o, uint64_t v) {
    for (int i = 7; i >= 0; --i) o->push_back(static_cast<char>(v >> (8 * i)));
  }
  static void List(std::string* o, const std::vector<std::pair<uint16_t, int32_t>>& l) {
    U16(o, static_cast<uint16_t>(l.size()));
    for (auto [f, v] : l) {
      U16(o, f);
      U32(o, static_cast<uint32_t>(v));
    }
  }
  std::string Build() const {
    std::string o = magic;
    o.push_back(static_cast<char>(version));
    U64(&o, seq);
    o.push_back(static_cast<char>(kind));
    U64(&o, static_cast<uint64_t>(time_ms));
    for (const std::string& s : strings) {
      U16(&o, static_cast<uint16_t>(s.size()));
      o += s;
    }
    o += prev;
    o.push_back(static_cast<char>(presence));
    if (presence == 1) o += photo;
    List(&o, values);
    List(&o, previous);
    return o + trailing;
  }
  // Offset of the length prefix of string i.
  size_t StringOffset(size_t i) const {
    size_t off = 4 + 8 + 1 + 8;
    for (size_t k = 0; k < i; ++k) off += 2 + strings[k].size();
    return off;
  }
  size_t PresenceOffset() const { return StringOffset(strings.size()) + 32; }
  size_t ValuesOffset() const { return PresenceOffset() + 1 + (presence == 1 ? 32 : 0); }
  size_t PreviousOffset() const { return ValuesOffset() + 2 + 6 * values.size(); }
};

Event EventOf(const RawEvent& r) {
  Event e;
  e.seq = r.seq;
  e.kind = static_cast<EventKind>(r.kind);
  e.time_ms = r.time_ms;
  e.contest = r.strings[0];
  e.subject = r.strings[1];
  e.source = r.strings[2];
  e.author = r.strings[3];
  e.reason = r.strings[4];
  std::copy(r.prev.begin(), r.prev.end(), e.prev.begin());
  if (r.presence == 1) {
    e.photo.emplace();
    std::copy(r.photo.begin(), r.photo.end(), e.photo->begin());
  }
  for (auto [f, v] : r.values) e.values.push_back({f, v});
  for (auto [f, v] : r.previous) e.previous.push_back({f, v});
  return e;
}

std::string RandomText(std::mt19937_64& rng, size_t max_bytes) {
  // ASCII, 2-, 3- and 4-byte UTF-8 sequences.
  static const std::vector<std::string> kPieces = {
      "a", "Z", "0", " ", ":", "-",  "~", "\x7f",
      "é", "ß", "—", "✓", "€", "日", "😀", "\xf4\x8f\xbf\xbf"};
  std::string s;
  const size_t target = std::uniform_int_distribution<size_t>(0, max_bytes)(rng);
  while (true) {
    const std::string& p = kPieces[rng() % kPieces.size()];
    if (s.size() + p.size() > target) break;
    s += p;
  }
  return s;
}

std::vector<FieldValue> RandomValues(std::mt19937_64& rng, int32_t min) {
  std::vector<FieldValue> v;
  const int n = static_cast<int>(rng() % 40);
  uint16_t field = static_cast<uint16_t>(rng() % 3);
  for (int i = 0; i < n && field < 65000; ++i) {
    v.push_back({field, std::uniform_int_distribution<int32_t>(min, 999)(rng)});
    field = static_cast<uint16_t>(field + 1 + rng() % (i == 5 ? 20000 : 4));
  }
  return v;
}

Event RandomEvent(std::mt19937_64& rng) {
  Event e;
  e.seq = rng() >> (rng() % 64);
  e.kind = static_cast<EventKind>(1 + rng() % 6);
  e.time_ms = static_cast<int64_t>(rng());
  e.contest = RandomText(rng, 32);
  e.subject = RandomText(rng, 16);
  e.source = RandomText(rng, 64);
  e.author = RandomText(rng, 64);
  e.reason = RandomText(rng, rng() % 4 == 0 ? 1000 : 50);
  for (auto& b : e.prev) b = static_cast<uint8_t>(rng());
  if (rng() % 2) {
    e.photo.emplace();
    for (auto& b : *e.photo) b = static_cast<uint8_t>(rng());
  }
  e.values = RandomValues(rng, 0);
  if (rng() % 2) e.previous = RandomValues(rng, -1);
  return e;
}

void ExpectRejected(const std::string& bytes, const std::string& rule,
                    std::optional<size_t> offset = std::nullopt) {
  Result<Event> r = Decode(bytes);
  ASSERT_FALSE(r.ok()) << "accepted, expected rejection by rule: " << rule;
  EXPECT_EQ(r.status().code(), Code::kDataLoss) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr(rule));
  if (offset) {
    EXPECT_THAT(r.status().message(), HasSubstr("offset " + std::to_string(*offset) + ":"));
  }
}

// ---- SHA-256 and hex ------------------------------------------------------------------------

TEST(LedgerSha256, KnownAnswers) {
  EXPECT_EQ(ToHex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ToHex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(EventHash("abc"), Sha256("abc"));
}

TEST(LedgerHex, RoundTripAndErrors) {
  Hash h;
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(i * 37 + 5);
  const std::string hex = ToHex(h);
  ASSERT_EQ(hex.size(), 64u);
  Result<Hash> back = HashFromHex(hex);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, h);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ASSERT_TRUE(HashFromHex(upper).ok());
  EXPECT_EQ(*HashFromHex(upper), h);

  Result<Hash> short_hex = HashFromHex(hex.substr(1));
  ASSERT_FALSE(short_hex.ok());
  EXPECT_EQ(short_hex.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(short_hex.status().message(), HasSubstr("64 hex digits"));
  std::string bad = hex;
  bad[10] = 'g';
  Result<Hash> bad_hex = HashFromHex(bad);
  ASSERT_FALSE(bad_hex.ok());
  EXPECT_EQ(bad_hex.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(bad_hex.status().message(), HasSubstr("position 10"));
}

TEST(LedgerEventKind, Names) {
  EXPECT_EQ(EventKindName(EventKind::kSubmission), "submission");
  EXPECT_EQ(EventKindName(EventKind::kCorrection), "correction");
  EXPECT_EQ(EventKindName(EventKind::kPublication), "publication");
  EXPECT_EQ(EventKindName(static_cast<EventKind>(99)), "unknown");
}

// ---- encoding -------------------------------------------------------------------------------

TEST(LedgerEncode, MatchesTheGrammar) {
  const RawEvent raw;
  EXPECT_EQ(Encode(EventOf(raw)), raw.Build());
  RawEvent no_photo;
  no_photo.presence = 0;
  no_photo.previous.clear();
  EXPECT_EQ(Encode(EventOf(no_photo)), no_photo.Build());
}

// The format is frozen: a change to these bytes is a new format version, not an edit.
TEST(LedgerEncode, GoldenVector) {
  Event e;
  e.seq = 1;
  e.kind = EventKind::kCorrection;
  e.time_ms = 1707879600000;  // 2024-02-14T03:00:00Z
  e.contest = "ppwp";
  e.subject = "3171010001001";
  e.source = "kpps";
  e.author = "ppk:317101";
  e.reason = "salah baca — kolom 2";
  e.prev = Fill(0xab);
  e.photo = Fill(0x5c);
  e.values = {{0, 120}, {1, 95}, {2, 7}, {3, 222}};
  e.previous = {{1, 59}, {3, -1}};
  const std::string bytes = Encode(e);
  ASSERT_EQ(bytes.size(), 189u);
  std::string hex;
  for (unsigned char c : bytes) {
    static constexpr char kD[] = "0123456789abcdef";
    hex += kD[c >> 4];
    hex += kD[c & 15];
  }
  // clang-format off
  EXPECT_EQ(hex,
            "524b4501"                                          // magic "RKE", version 1
            "0000000000000001"                                  // seq 1
            "02"                                                // kind: correction
            "0000018da58e8f80"                                  // time_ms 1707879600000
            "0004" "70707770"                                   // contest "ppwp"
            "000d" "33313731303130303031303031"                 // subject "3171010001001"
            "0004" "6b707073"                                   // source "kpps"
            "000a" "70706b3a333137313031"                       // author "ppk:317101"
            "0016" "73616c6168206261636120e28094206b6f6c6f6d2032"  // reason (U+2014 = e28094)
            "abababababababababababababababababababababababababababababababab"  // prev
            "01"                                                // photo present
            "5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c"  // photo
            "0004" "000000000078" "00010000005f" "000200000007" "0003000000de"  // values
            "0002" "00010000003b" "0003ffffffff");  // previous (field 3 was missing: -1)
  // clang-format on
  EXPECT_EQ(ToHex(EventHash(bytes)),
            "3822539c87c050681473b298172b4ea792083f97002e2f37c94a468ff9116e67");
  Result<Event> back = Decode(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, e);
}

TEST(LedgerEncode, RandomRoundTripIsCanonical) {
  std::mt19937_64 rng(20240214);
  for (int i = 0; i < 3000; ++i) {
    const Event e = RandomEvent(rng);
    ASSERT_TRUE(CheckEncodable(e).ok()) << CheckEncodable(e).ToString();
    const std::string bytes = Encode(e);
    Result<Event> back = Decode(bytes);
    ASSERT_TRUE(back.ok()) << "event " << i << ": " << back.status().ToString();
    ASSERT_EQ(*back, e) << "event " << i;
    ASSERT_EQ(Encode(*back), bytes) << "event " << i;
  }
}

TEST(LedgerEncode, BoundsAreInclusive) {
  Event e;
  e.contest = std::string(32, 'c');
  e.subject = std::string(16, 's');
  e.source = std::string(64, 'o');
  e.author = std::string(64, 'a');
  e.reason = std::string(998, 'r') + "é";  // 1000 bytes
  e.values = {{0, 0}, {65535, 999}};
  e.previous = {{0, -1}, {1, 999}};
  ASSERT_TRUE(CheckEncodable(e).ok()) << CheckEncodable(e).ToString();
  Result<Event> back = Decode(Encode(e));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, e);
}

TEST(LedgerEncode, CheckEncodableNamesFieldAndRule) {
  struct Case {
    void (*mutate)(Event*);
    const char* rule;
  };
  const Case cases[] = {
      {[](Event* e) { e->contest = std::string(33, 'x'); }, "contest longer than 32 bytes"},
      {[](Event* e) { e->subject = std::string(17, '1'); }, "subject longer than 16 bytes"},
      {[](Event* e) { e->source = std::string(65, 'k'); }, "source longer than 64 bytes"},
      {[](Event* e) { e->author = std::string(65, 'a'); }, "author longer than 64 bytes"},
      {[](Event* e) { e->reason = std::string(1001, 'r'); }, "reason longer than 1000 bytes"},
      {[](Event* e) { e->author = std::string("a\0b", 3); }, "NUL byte in author"},
      {[](Event* e) { e->reason = "\xc0\x80"; }, "invalid UTF-8 in reason"},
      {[](Event* e) { e->kind = static_cast<EventKind>(0); }, "unknown kind"},
      {[](Event* e) {
         e->values = {{2, 1}, {2, 1}};
       },
       "values fields not strictly increasing"},
      {[](Event* e) {
         e->previous = {{3, 1}, {2, 1}};
       },
       "previous fields not strictly increasing"},
      {[](Event* e) {
         e->values = {{0, -1}};
       },
       "values value out of range"},
      {[](Event* e) {
         e->values = {{0, 1000000}};
       },
       "values value out of range"},
      {[](Event* e) {
         e->previous = {{0, -2}};
       },
       "previous value out of range"},
  };
  for (const Case& c : cases) {
    Event e = EventOf(RawEvent{});
    ASSERT_TRUE(CheckEncodable(e).ok());
    c.mutate(&e);
    Status s = CheckEncodable(e);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.rule;
    EXPECT_THAT(s.message(), HasSubstr(c.rule));
  }
}

// ---- decoding: every rejection --------------------------------------------------------------

TEST(LedgerDecode, AcceptsTheGrammar) {
  RawEvent raw;
  Result<Event> r = Decode(raw.Build());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, EventOf(raw));
  raw.presence = 0;
  r = Decode(raw.Build());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->photo.has_value());
}

TEST(LedgerDecode, RejectsBadMagicAndVersion) {
  for (const char* m : {"RKX", "rke", "RKH", "\0\0\0"}) {
    RawEvent raw;
    raw.magic = std::string(m, 3);
    ExpectRejected(raw.Build(), "bad magic", 0);
  }
  for (uint8_t v : {0, 2, 255}) {
    RawEvent raw;
    raw.version = v;
    ExpectRejected(raw.Build(), "unsupported version", 3);
  }
}

TEST(LedgerDecode, RejectsUnknownKind) {
  for (uint8_t k : {0, 7, 128, 255}) {
    RawEvent raw;
    raw.kind = k;
    ExpectRejected(raw.Build(), "unknown kind", 12);
  }
}

TEST(LedgerDecode, RejectsEveryTruncation) {
  const std::string full = RawEvent{}.Build();
  for (size_t n = 0; n < full.size(); ++n) {
    SCOPED_TRACE(n);
    ExpectRejected(full.substr(0, n), "truncated");
  }
  // A length prefix that runs past the end.
  RawEvent raw;
  std::string b = raw.Build();
  const size_t off = raw.StringOffset(4);  // reason
  b.resize(off + 2 + 3);                   // 10 bytes announced, 3 present
  ExpectRejected(b, "truncated", off + 2);
}

TEST(LedgerDecode, RejectsTrailingBytes) {
  RawEvent raw;
  const size_t end = raw.Build().size();
  for (const char* t : {"\0", "x", "\x01\x02\x03"}) {
    raw.trailing = std::string(t, std::max<size_t>(1, std::strlen(t)));
    ExpectRejected(raw.Build(), "trailing bytes", end);
  }
}

TEST(LedgerDecode, RejectsLengthsOverBounds) {
  const char* names[] = {"contest", "subject", "source", "author", "reason"};
  const size_t max[] = {32, 16, 64, 64, 1000};
  for (size_t i = 0; i < 5; ++i) {
    RawEvent raw;
    raw.strings[i] = std::string(max[i] + 1, 'x');
    ExpectRejected(raw.Build(),
                   std::string(names[i]) + " longer than " + std::to_string(max[i]) + " bytes",
                   raw.StringOffset(i));
    raw.strings[i] = std::string(max[i], 'x');
    EXPECT_TRUE(Decode(raw.Build()).ok()) << names[i];
  }
  // An oversized length prefix is rejected before the bytes are looked at.
  RawEvent raw;
  std::string b = raw.Build();
  b[raw.StringOffset(1)] = '\xff';
  ExpectRejected(b, "subject longer than 16 bytes", raw.StringOffset(1));
}

TEST(LedgerDecode, RejectsNulAndInvalidUtf8) {
  const std::vector<std::string> invalid = {
      "\x80",              // lone continuation byte
      "\xc0\x80",          // overlong NUL
      "\xc1\xbf",          // overlong
      "\xe0\x80\xaf",      // overlong
      "\xed\xa0\x80",      // surrogate U+D800
      "\xf4\x90\x80\x80",  // above U+10FFFF
      "\xf5\x80\x80\x80",  // invalid lead byte
      "\xe2\x82",          // truncated sequence
      "ab\xff",            // 0xFF never appears
      "\xc3\x28",          // bad continuation
  };
  for (const std::string& s : invalid) {
    RawEvent raw;
    raw.strings[3] = s;
    SCOPED_TRACE(s);
    ExpectRejected(raw.Build(), "invalid UTF-8 in author");
  }
  RawEvent raw;
  raw.strings[2] = std::string("kp\0s", 4);
  ExpectRejected(raw.Build(), "NUL byte in source", raw.StringOffset(2) + 2 + 2);
  // Valid edge sequences: U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF.
  for (const char* ok : {"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
                         "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "kpps ✓ 日本 😀"}) {
    raw.strings[2] = ok;
    EXPECT_TRUE(Decode(raw.Build()).ok()) << ok;
  }
}

TEST(LedgerDecode, RejectsNonIncreasingFields) {
  RawEvent raw;
  raw.values = {{0, 1}, {5, 2}, {5, 3}};
  ExpectRejected(raw.Build(), "values fields not strictly increasing", raw.ValuesOffset() + 2 + 12);
  raw.values = {{4, 1}, {3, 2}};
  ExpectRejected(raw.Build(), "values fields not strictly increasing", raw.ValuesOffset() + 2 + 6);
  raw = RawEvent{};
  raw.previous = {{9, 1}, {2, 2}};
  ExpectRejected(raw.Build(), "previous fields not strictly increasing",
                 raw.PreviousOffset() + 2 + 6);
}

TEST(LedgerDecode, RejectsValuesOutOfRange) {
  for (int32_t v : {-1, 1000000, INT32_MIN, INT32_MAX}) {
    RawEvent raw;
    raw.values = {{0, 1}, {1, v}};
    ExpectRejected(raw.Build(), "values value out of range", raw.ValuesOffset() + 2 + 6 + 2);
  }
  for (int32_t v : {-2, 1000000, INT32_MIN}) {
    RawEvent raw;
    raw.previous = {{0, v}};
    ExpectRejected(raw.Build(), "previous value out of range", raw.PreviousOffset() + 2 + 2);
  }
  RawEvent raw;
  raw.previous = {{0, -1}, {1, 0}, {2, 999999}};
  EXPECT_TRUE(Decode(raw.Build()).ok());
}

TEST(LedgerDecode, RejectsPresenceByteOtherThanZeroOrOne) {
  for (uint8_t p : {2, 0x80, 0xff}) {
    RawEvent raw;
    raw.presence = p;
    ExpectRejected(raw.Build(), "photo presence byte not 0 or 1", raw.PresenceOffset());
  }
}

// ---- tamper evidence ------------------------------------------------------------------------

// Flipping any single bit either breaks the encoding or yields a different, still canonical
// event with a different hash: no bit is outside the hash and no two encodings mean the same.
TEST(LedgerDecode, EverySingleBitFlipIsDetected) {
  std::mt19937_64 rng(7);
  std::vector<std::string> encodings = {RawEvent{}.Build()};
  for (int i = 0; i < 20; ++i) encodings.push_back(Encode(RandomEvent(rng)));
  for (const std::string& original : encodings) {
    const Event e = *Decode(original);
    const Hash h = EventHash(original);
    for (size_t i = 0; i < original.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string b = original;
        b[i] = static_cast<char>(b[i] ^ (1 << bit));
        Result<Event> d = Decode(b);
        if (!d.ok()) {
          ASSERT_EQ(d.status().code(), Code::kDataLoss);
          continue;
        }
        ASSERT_NE(*d, e) << "byte " << i << " bit " << bit;
        ASSERT_EQ(Encode(*d), b) << "byte " << i << " bit " << bit;
        ASSERT_NE(EventHash(Encode(*d)), h) << "byte " << i << " bit " << bit;
      }
    }
  }
}

// Whatever Decode accepts re-encodes to the same bytes (a poor man's fuzzer).
TEST(LedgerDecode, AcceptedMutationsAreCanonical) {
  std::mt19937_64 rng(99);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string b = Encode(RandomEvent(rng));
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !b.empty(); ++k) {
      const size_t at = rng() % b.size();
      switch (rng() % 3) {
        case 0:
          b[at] = static_cast<char>(rng());
          break;
        case 1:
          b.erase(at, 1);
          break;
        default:
          b.insert(at, 1, static_cast<char>(rng()));
          break;
      }
    }
    Result<Event> d = Decode(b);
    if (!d.ok()) continue;
    ++accepted;
    ASSERT_TRUE(CheckEncodable(*d).ok());
    ASSERT_EQ(Encode(*d), b);
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace rekap
