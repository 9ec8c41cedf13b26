// Writing a file whole or not at all: the bytes go to PATH.tmp, which is renamed over PATH
// only once they are all written, and removed otherwise. A reader of PATH sees the old file or
// the new one, never half of one.
#pragma once

#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>

#include "rekap/status.h"

namespace rekap::reader {

inline Status WriteFileAtomic(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  f.close();
  if (!f || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Unavailable("tidak bisa menulis / cannot write " + path);
  }
  return Status::Ok();
}

}  // namespace rekap::reader
