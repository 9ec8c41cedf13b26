// rekap submit | correct | accept
#include <iostream>

#include "commands.h"
#include "common.h"

namespace rekap::cli {
namespace {

struct Args {
  std::string contest, tps, source = "kpps", author, reason, photo;
  std::vector<std::string> values;
  bool partial = false;
};

Status ParseValues(const std::vector<std::string>& items, std::map<std::string, Value>* out) {
  for (const auto& it : items) {
    auto eq = it.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("'" + it.substr(0, 40) + "': gunakan KOLOM=NILAI / use FIELD=VALUE");
    }
    std::string name = it.substr(0, eq), num = it.substr(eq + 1);
    bool neg = !num.empty() && num[0] == '-';
    std::string digits = neg ? num.substr(1) : num;
    if (!AllDigits(digits) || digits.size() > 7) {
      return InvalidArgument("kolom '" + name.substr(0, 40) + "': '" + num.substr(0, 20) +
                             "' bukan bilangan bulat / field '" + name.substr(0, 40) + "': '" + num.substr(0, 20) +
                             "' is not an integer");
    }
    int v = std::stoi(digits);
    if (out->count(name)) return InvalidArgument("kolom '" + name + "' diberikan dua kali / field '" + name + "' given twice");
    (*out)[name] = neg ? -v : v;
  }
  return Status::Ok();
}

Status Run(EventKind kind, const Args& a) {
  // "import:..." names data `rekap import results` brought in; a submission typed by hand is not
  // an import and must not look like one in the ledger.
  if (kind == EventKind::kSubmission && a.source.rfind("import:", 0) == 0)
    return InvalidArgument("--source: 'import:...' hanya untuk `rekap import results` / only for `rekap import results`");
  REKAP_ASSIGN_OR_RETURN(Session s, OpenSession());
  Command c;
  c.kind = kind;
  c.contest = a.contest;
  c.tps = a.tps;
  c.source = a.source;
  c.author = a.author;
  c.reason = a.reason;
  // A correction names only the fields it changes; the others keep their current values,
  // so it is as complete as the result it corrects.
  c.partial = a.partial || kind == EventKind::kCorrection;
  if (!a.photo.empty()) {
    auto h = HashFromHex(a.photo);
    if (!h.ok()) return InvalidArgument("kolom 'photo': SHA-256 heksadesimal 64 karakter / field 'photo': 64 hex characters of SHA-256");
    c.photo = *h;
  }
  REKAP_RETURN_IF_ERROR(ParseValues(a.values, &c.values));
  if (kind == EventKind::kCorrection) {
    // A correction names the changed fields; the rest keep their current values.
    const ContestTally* t = s.engine->tally(a.contest);
    int32_t idx = s.engine->tree().FindTps(a.tps);
    if (t && idx >= 0 && t->InScope(idx)) {
      const Form& form = *t->contest().form;
      const Value* cur = t->tps_values(idx);
      for (size_t i = 0; i < form.size(); ++i)
        if (cur[i] != kMissing && !c.values.count(form.fields()[i].id)) c.values[form.fields()[i].id] = cur[i];
    }
  }
  REKAP_ASSIGN_OR_RETURN(Outcome o, s.engine->Execute(c));
  if (G().json) {
    nlohmann::json f = nlohmann::json::array();
    for (const auto& x : o.failures) f.push_back(FailureJson(x));
    std::cout << nlohmann::json{{"status", o.kind == Outcome::Kind::kAppended ? "appended" : "duplicate"},
                                {"seq", o.seq},
                                {"event_hash", ToHex(o.event_hash)},
                                {"batch", o.batch},
                                {"flagged", o.flagged},
                                {"conflicting", o.conflicting},
                                {"failures", f}}
                     .dump()
              << "\n";
    return Status::Ok();
  }
  std::cout << (o.kind == Outcome::Kind::kAppended ? Tr("Tercatat", "Recorded") : Tr("Duplikat (sudah tercatat)", "Duplicate (already recorded)"))
            << ": seq " << o.seq << " hash " << ToHex(o.event_hash) << "\n";
  if (o.flagged)
    std::cout << Tr("DITANDAI: melanggar aturan keras, tidak dihitung sampai dikoreksi atau diterima\n",
                    "FLAGGED: breaks a hard rule, not counted until corrected or accepted\n");
  if (o.conflicting) std::cout << Tr("KONFLIK: sumber lain mengirim nilai berbeda\n", "CONFLICT: another source sent different values\n");
  for (const auto& f : o.failures) {
    std::cout << "  [" << (f.severity == Severity::kError ? "error" : "warning") << "] " << f.rule_id << ": "
              << Tr(f.message.id, f.message.en) << " (" << f.detail << ")\n";
  }
  return Status::Ok();
}

void Common(CLI::App* cmd, Args& a, bool values) {
  cmd->add_option("--contest", a.contest, "id kontes / contest id, e.g. ppwp")->required();
  cmd->add_option("--tps", a.tps, "id TPS 13 angka / 13-digit TPS id")->required();
  cmd->add_option("--author", a.author, "siapa / who (user id)")->required();
  if (values) cmd->add_option("values", a.values, "KOLOM=NILAI ... / FIELD=VALUE ..., e.g. suara_1=58");
}

}  // namespace

void AddSubmit(CLI::App& app) {
  static Args sub, cor, acc;
  auto* s = app.add_subcommand("submit", "kirim hasil satu TPS / submit one TPS result");
  Common(s, sub, true);
  s->add_option("--source", sub.source, "sumber / source: kpps, saksi:01, ...")->capture_default_str();
  s->add_option("--photo", sub.photo, "SHA-256 foto / photo SHA-256 (hex)");
  s->add_flag("--partial", sub.partial,
              "sebagian kolom; sisanya belum diterima / some fields only, the rest not yet received");
  s->callback([] { ExitCode() = [] { Status st = Run(EventKind::kSubmission, sub); return st.ok() ? 0 : Fail(st); }(); });

  auto* c = app.add_subcommand("correct", "koreksi hasil dengan alasan / correct a result with a reason");
  Common(c, cor, true);
  c->add_option("--reason", cor.reason, "alasan / reason")->required();
  c->add_option("--photo", cor.photo, "SHA-256 foto / photo SHA-256 (hex)");
  c->callback([] { ExitCode() = [] { Status st = Run(EventKind::kCorrection, cor); return st.ok() ? 0 : Fail(st); }(); });

  auto* a = app.add_subcommand("accept", "terima hasil bertanda dengan alasan / accept a flagged result with a reason");
  Common(a, acc, false);
  a->add_option("--reason", acc.reason, "alasan / reason")->required();
  a->callback([] { ExitCode() = [] { Status st = Run(EventKind::kAcceptance, acc); return st.ok() ? 0 : Fail(st); }(); });
}

}  // namespace rekap::cli
