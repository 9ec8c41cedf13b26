// The reader's subcommands (issue 3), registered by AddReaderCommands (src/cli/commands.h).
#pragma once

#include <CLI/CLI.hpp>

namespace rekap::cli {

// Help texts shared by `rekap forms synth` and `rekap bench reader`.
inline constexpr const char* kInconsistentRateHelp =
    "bagian halaman yang sengaja salah / share of deliberately wrong pages";
inline constexpr const char* kRestyleHelp =
    "tulisan tangan lain: distorsi kuat tiap angka, 0 = mati, 1 = penuh (uji tahan) / other hands: "
    "each digit strongly distorted, 0 = off, 1 = full (stress test)";
inline constexpr const char* kBendHelp =
    "kertas tidak rata: geseran halus acak sampai MM mm, 0 = rata (uji tahan) / a page that does not lie flat: "
    "a smooth random displacement of up to MM mm, 0 = flat (stress test)";
inline constexpr const char* kFoldHelp =
    "bekas lipatan: N garis lipat (0-3), panel di baliknya sedikit miring (uji tahan) / creases of a page folded and "
    "opened again: N fold lines (0-3), the panel beyond each a little tilted (stress test)";
inline constexpr const char* kCoverCornerHelp =
    "satu sudut halaman tertutup (jari, pemberat, di luar bingkai; uji tahan) / one corner of the page covered (a "
    "thumb, a weight, out of the frame; stress test)";
inline constexpr const char* kSegmentStyleHelp =
    "bagian angka yang ditulis mengikuti panduan 8 segmen kotak KPU (0-1) / share of digits written along the "
    "KPU boxes' 8-segment guide, seven-segment style (0-1)";
inline constexpr const char* kBlurScaleHelp =
    "kekaburan kamera kali ini (1 = biasa; untuk uji foto yang terlalu kabur) / the camera's blur times this (1 = "
    "the usual; to test photos too blurred to read)";
inline constexpr const char* kPhotoFormatHelp =
    "format foto: jpeg | heic (seperti kamera iPhone) | avif; kualitas sama / photo format: jpeg | "
    "heic (as an iPhone camera saves it) | avif; the same quality range";
inline constexpr const char* kShakeHelp =
    "kamera goyang: kabur gerak lurus sampai PX piksel per 2.000 px lebar foto, arah acak (0 = tidak; uji tahan) / "
    "camera shake: a straight motion blur of up to PX pixels per 2,000 px of the photo's width, in a random "
    "direction (0 = none; stress test)";
inline constexpr const char* kNoSpillHelp =
    "jangan pernah membaca angka yang melewati garis kotaknya dari tintanya sendiri (untuk perbandingan) / never read "
    "a digit that crosses its box's border from its own ink (for comparison)";
inline constexpr const char* kNoFinerDecodeHelp =
    "jangan pernah membaca ulang halaman yang kecil di foto besar dari foto yang didekode lebih halus (untuk "
    "perbandingan) / never read a page that is small in a large photo again from the photo decoded finer (for "
    "comparison)";
inline constexpr const char* kMinFillHelp =
    "bagian lebar bingkai foto yang terisi halaman, paling sedikit (sisanya meja di sekitarnya) / the least share of "
    "the photo frame's width the page fills (the rest is the table around it)";
inline constexpr const char* kMaxFillHelp =
    "bagian lebar bingkai foto yang terisi halaman, paling banyak / the largest share of the photo frame's width the "
    "page fills";
inline constexpr const char* kNoBoxBordersHelp =
    "baca kotak angka di tempat yang diberikan penjajaran halaman, jangan di tempat garis kotaknya terlihat (untuk "
    "perbandingan) / read the digit boxes where the page's alignment puts them, not where their printed borders "
    "are seen (for comparison)";
inline constexpr const char* kNoRowSearchHelp =
    "jangan baca lagi baris bulatan yang tidak jelas di tempat garis bulatannya terlihat pada halaman yang tidak rata "
    "(untuk perbandingan) / on a page that does not lie flat, never read an unclear bubble row again where its printed "
    "outlines are seen (for comparison)";
inline constexpr const char* kNoPrintFieldHelp =
    "jangan cocokkan gambar cetakan halaman yang tidak rata, petak demi petak, untuk mencari angkanya lagi (untuk "
    "perbandingan) / on a page that does not lie flat, never register the drawing of its print patch by patch to "
    "search for its numbers again (for comparison)";
inline constexpr const char* kNoQrModulesHelp =
    "formulir kita: kode QR yang gagal dibaca tidak dibaca lagi modul demi modul (untuk perbandingan) / our form: a "
    "QR code the decoder cannot read is not read again module by module (for comparison)";
inline constexpr const char* kUnbubbledHelp =
    "bagian angka yang bulatannya tidak diisi sama sekali, seperti KPPS yang hanya menulis angkanya (0-1; uji tahan) / "
    "share of numbers whose bubbles are left out entirely, as by a KPPS who only writes the digits (0-1; stress test)";
inline constexpr const char* kSpillHelp =
    "bagian angka yang ditulis terlalu besar untuk kotaknya (0,85-1,2 kali tinggi dalamnya, bergeser sampai 15 %), "
    "menyentuh atau melewati garis kotak (0-1; uji tahan) / share of digits written too big for their box (0.85-1.2 "
    "times its inside's height, off-centre by up to 15 %), touching or crossing its border (0-1; stress test)";
inline constexpr const char* kFlaggedOnesHelp =
    "bagian angka 1 yang ditulis berbendera (dan sepertiganya beralas), seperti kebanyakan tangan Indonesia (0-1) / "
    "share of the 1s written with a flag (a third of them also with a base), as most Indonesian hands write a 1 (0-1)";
inline constexpr const char* kCrossedSevensHelp =
    "bagian angka 7 yang ditulis dengan garis melintang, seperti banyak tangan Indonesia (0-1) / "
    "share of the 7s written with a bar across the stem, as many Indonesian hands write a 7 (0-1)";
inline constexpr const char* kPenStrokesHelp =
    "bagian halaman yang angkanya ditulis setebal pena halaman itu (pulpen 0,3-0,6 mm, pensil, spidol) alih-alih "
    "setebal goresan MNIST (0-1) / share of pages whose digits are drawn at the width of the page's pen (a "
    "ballpoint 0.3-0.6 mm, a pencil, a marker) instead of the MNIST sample's stroke (0-1)";
inline constexpr const char* kPenOutlineAreasHelp =
    "dengan --pen-strokes: bidang tinta pejal contoh (lingkaran kecil yang tertutup goresan tebal) ditulis "
    "kelilingnya, bukan garis tengahnya yang hanya sepotong / with --pen-strokes: the sample's solid areas (a small "
    "loop closed by a thick stroke) drawn around, not along their centre line, which is only a stub";

// rekap forms print | layout | synth (src/cli/reader/cmd_forms.cc).
void AddFormsCommands(CLI::App& app);

}  // namespace rekap::cli
