// rekap reader: the header of a digit model file, shared by DigitModel (digits.cc) and
// FastDigitNet (fast_digits.cc), which read the same files.
//
// dlib::serialize of: the tag "rekap-digits", the format version, a description string,
// (version 2 only) the name of the input's preprocessing, then the inference network.
// Version 1 has no preprocessing; version 2's only one is "deskew" (DeskewDigit).
#pragma once

#include <string>

#include "rekap/status.h"

namespace rekap::reader::model_format {

inline constexpr char kTag[] = "rekap-digits";
inline constexpr int kVersion = 1;
inline constexpr int kVersionInput = 2;
inline constexpr char kInputDeskew[] = "deskew";

// Reads the header from a dlib deserializer up to the network; returns whether the network
// reads deskewed digits. `path` names the file in errors. dlib's exceptions pass through.
template <typename In>
Result<bool> ReadHeader(In& in, const std::string& path) {
  std::string tag, description, input;
  int version = 0;
  in >> tag >> version;
  if (tag != kTag || (version != kVersion && version != kVersionInput))
    return InvalidArgument("format model tidak dikenal / unknown model format in " + path + ": tag '" + tag +
                           "' version " + std::to_string(version));
  in >> description;
  if (version == kVersionInput) {
    in >> input;
    if (input != kInputDeskew)
      return InvalidArgument("praproses model tidak dikenal / unknown model input in " + path + ": '" + input + "'");
  }
  return input == kInputDeskew;
}

}  // namespace rekap::reader::model_format
