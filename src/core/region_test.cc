#include "rekap/region.h"

#include <gtest/gtest.h>

namespace rekap {
namespace {

TEST(RegionCode, ParsesEveryLevel) {
  struct Case {
    const char* text;
    const char* code;
    Level level;
    const char* parent;
  };
  for (const Case& c : {Case{"", "", Level::kNational, ""}, Case{"32", "32", Level::kProvinsi, ""},
                        Case{"3212", "3212", Level::kKabKota, "32"}, Case{"321201", "321201", Level::kKecamatan, "3212"},
                        Case{"3212012001", "3212012001", Level::kDesa, "321201"},
                        Case{"32.12.01.2001", "3212012001", Level::kDesa, "321201"},
                        Case{"99AA01", "99AA01", Level::kKecamatan, "99AA"}}) {
    auto r = RegionCode::Parse(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().ToString();
    EXPECT_EQ(r->str(), c.code);
    EXPECT_EQ(r->level(), c.level) << c.text;
    EXPECT_EQ(r->parent().str(), c.parent) << c.text;
  }
}

TEST(RegionCode, RejectsMalformed) {
  for (const char* bad : {"3", "321", "32120", "32120120011", "32a2", "-32", "32 12", "0012", "12AB", "3212012001001"}) {
    auto r = RegionCode::Parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
      EXPECT_NE(r.status().message().find("kode wilayah"), std::string::npos) << r.status().message();
    }
  }
}

TEST(TpsId, ParsesAndRejects) {
  auto t = TpsId::Parse("3212012001007");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->desa(), "3212012001");
  EXPECT_EQ(t->number(), 7);
  for (const char* bad : {"", "321201200100", "32120120010071", "3212012001000", "321201200100x", "99AA010001001"}) {
    auto r = TpsId::Parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("TPS"), std::string::npos);
    }
  }
}

TEST(CodeKey, IsUniqueAcrossLengthsAndAlphabets) {
  EXPECT_NE(CodeKey("01"), CodeKey("1"));
  EXPECT_NE(CodeKey("99AA"), CodeKey("9910"));
  EXPECT_NE(CodeKey("3212012001001"), CodeKey("3212012001"));
  EXPECT_EQ(CodeKey("3212"), CodeKey(std::string("3212")));
}

TEST(RegionTree, LinksRegionsAndCountsTps) {
  RegionTree t;
  for (const char* c : {"32", "3212", "321201", "321202", "3212012001", "3212022001"}) {
    ASSERT_TRUE(t.AddRegion(Region{c, c, "", Level::kNational}).ok()) << c;
  }
  for (const char* id : {"3212012001001", "3212012001002", "3212022001001"}) ASSERT_TRUE(t.AddTps({id, "TPS"}).ok());
  ASSERT_TRUE(t.Finish().ok());
  EXPECT_EQ(t.TpsUnder(0), 3);
  EXPECT_EQ(t.TpsUnder(t.Find("3212")), 3);
  EXPECT_EQ(t.TpsUnder(t.Find("321201")), 2);
  EXPECT_EQ(t.TpsUnder(t.Find("3212022001")), 1);
  int32_t anc[6];
  int n = t.AncestorsOf(t.tps(t.FindTps("3212012001002")).desa, anc);
  ASSERT_EQ(n, 5);
  EXPECT_EQ(t.node(anc[4]).region.code, "");
  EXPECT_EQ(t.FindTps("3212012001003"), -1);
  EXPECT_EQ(t.Find("32x"), -1);
}

TEST(RegionTree, RejectsDuplicatesAndOrphans) {
  RegionTree t;
  ASSERT_TRUE(t.AddRegion(Region{"32", "JAWA BARAT", "provinsi", Level::kProvinsi}).ok());
  EXPECT_EQ(t.AddRegion(Region{"32", "again", "", Level::kProvinsi}).code(), Code::kAlreadyExists);
  ASSERT_TRUE(t.AddRegion(Region{"321201", "orphan kecamatan", "", Level::kKecamatan}).ok());
  Status st = t.Finish();
  EXPECT_EQ(st.code(), Code::kNotFound);
  EXPECT_NE(st.message().find("3212"), std::string::npos);
  EXPECT_TRUE(t.Finish(/*create_missing_parents=*/true).ok());
  EXPECT_GE(t.Find("3212"), 0);
  ASSERT_TRUE(t.AddTps({"3299012001001", "TPS 001"}).ok());
  EXPECT_EQ(t.Finish(true).code(), Code::kNotFound);  // a TPS whose desa is unknown
}

}  // namespace
}  // namespace rekap
