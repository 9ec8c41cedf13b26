#include "simulate.h"

#include <algorithm>
#include <cmath>

namespace rekap::cli {
namespace {

int Binomial(std::mt19937_64& rng, int n, double p) {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  return std::binomial_distribution<int>(n, p)(rng);
}

}  // namespace

std::vector<FieldValue> SimulateResult(std::mt19937_64& rng, const Form& form, const SimTps& tps,
                                       const std::vector<double>& shares) {
  std::vector<Value> v(form.size(), kMissing);
  auto set = [&](const char* name, int value) {
    int i = form.IndexOf(name);
    if (i >= 0) v[i] = value;
  };
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const int dpt = tps.dpt;
  const int dpt_l = Binomial(rng, dpt, 0.5);
  const int dpt_p = dpt - dpt_l;
  set("dpt_l", dpt_l);
  set("dpt_p", dpt_p);
  set("dpt_j", dpt);
  const int ul = Binomial(rng, dpt_l, tps.turnout), up = Binomial(rng, dpt_p, tps.turnout);
  set("pengguna_dpt_l", ul);
  set("pengguna_dpt_p", up);
  set("pengguna_dpt_j", ul + up);
  // Additional voters: PPWP has DPTb and DPK users; KWK has DPPh and DPTb registers.
  const bool kwk = form.IndexOf("dpph_j") >= 0;
  int extra_l = 0, extra_p = 0;
  auto extra = [&](const char* reg, const char* used, int max_each) {
    int rl = uni(0, max_each), rp = uni(0, max_each);
    int el = Binomial(rng, rl, 0.8), ep = Binomial(rng, rp, 0.8);
    if (reg) {
      std::string r = reg;
      set((r + "_l").c_str(), rl);
      set((r + "_p").c_str(), rp);
      set((r + "_j").c_str(), rl + rp);
    } else {
      el = rl;
      ep = rp;
    }
    std::string u = used;
    set((u + "_l").c_str(), el);
    set((u + "_p").c_str(), ep);
    set((u + "_j").c_str(), el + ep);
    extra_l += el;
    extra_p += ep;
    return std::pair<int, int>{rl, rp};
  };
  if (kwk) {
    auto a = extra("dpph", "pengguna_dpph", 3);
    auto b = extra("dptb", "pengguna_dptb", 3);
    set("pemilih_total_l", dpt_l + a.first + b.first);
    set("pemilih_total_p", dpt_p + a.second + b.second);
    set("pemilih_total_j", dpt + a.first + a.second + b.first + b.second);
  } else {
    extra(nullptr, "pengguna_dptb", 3);
    extra(nullptr, "pengguna_dpk", 2);
  }
  const int tl = ul + extra_l, tp = up + extra_p, total = tl + tp;
  set("pengguna_total_l", tl);
  set("pengguna_total_p", tp);
  set("pengguna_total_j", total);
  // Ballots: DPT plus a 2 % reserve are received; used = users.
  int received = dpt + static_cast<int>(std::ceil(dpt * 0.02));
  received = std::max(received, total);
  int spoiled = std::min(uni(0, 2), received - total);
  set("surat_diterima", received);
  set("surat_digunakan", total);
  set("surat_rusak", spoiled);
  set("surat_sisa", received - total - spoiled);
  int dl = std::min(uni(0, 2), tl), dp = std::min(uni(0, 2), tp);
  set("disabilitas_l", dl);
  set("disabilitas_p", dp);
  set("disabilitas_j", dl + dp);
  // Votes: a few invalid, the rest split by shares (multinomial).
  int invalid = Binomial(rng, total, 0.02);
  int valid = total - invalid;
  int left = valid;
  double pleft = 1.0;
  const int n = form.candidates();
  for (int c = 1; c <= n; ++c) {
    double s = c - 1 < static_cast<int>(shares.size()) ? shares[c - 1] : 0.0;
    int x = c == n ? left : Binomial(rng, left, pleft > 0 ? std::min(1.0, s / pleft) : 0.0);
    v[form.CandidateIndex(c)] = x;
    left -= x;
    pleft -= s;
  }
  set("suara_sah", valid);
  set("suara_tidak_sah", invalid);
  set("suara_total", total);
  std::vector<FieldValue> out;
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] != kMissing) out.push_back(FieldValue{static_cast<uint16_t>(i), v[i]});
  return out;
}

int Misread(std::mt19937_64& rng, const Form& form, std::vector<FieldValue>* values) {
  int c = std::uniform_int_distribution<int>(1, form.candidates())(rng);
  int idx = form.CandidateIndex(c);
  for (auto& fv : *values) {
    if (fv.field != idx) continue;
    std::string s = std::to_string(fv.value);
    int kind = std::uniform_int_distribution<int>(0, 2)(rng);
    std::string orig = s;
    if (kind == 0 && s.size() < 3) {
      s.insert(s.begin(), "987"[std::uniform_int_distribution<int>(0, 2)(rng)]);  // 58 -> 958
    } else if (kind == 1 && s.size() < 3) {
      s.push_back(s.back());  // 58 -> 588
    } else {
      static const char kSimilar[] = "8778968134";  // 0->8 1->7 2->7 3->8 4->9 5->6 6->8 7->1 8->3 9->4
      size_t pos = std::uniform_int_distribution<size_t>(0, s.size() - 1)(rng);
      char d = kSimilar[s[pos] - '0'];
      if (d == s[pos]) d = s[pos] == '9' ? '4' : '9';
      s[pos] = d;  // 3 -> 8, 1 -> 7, 5 -> 6 ...
    }
    if (s == orig) s = std::to_string(fv.value + 100 > 999 ? fv.value - 100 : fv.value + 100);
    fv.value = std::min(999, std::stoi(s));
    return idx;
  }
  return -1;
}

std::map<std::string, Value> ToNamed(const Form& form, const std::vector<FieldValue>& values) {
  std::map<std::string, Value> out;
  for (const auto& fv : values) out[form.fields()[fv.field].id] = fv.value;
  return out;
}

}  // namespace rekap::cli
