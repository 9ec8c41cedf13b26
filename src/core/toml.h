// Internal: the one include of toml++. Its internal asserts abort on some malformed input in
// builds without NDEBUG (the sanitizer build); hostile files must get an error, not an abort,
// so every build behaves like the release build.
#pragma once
#ifndef TOML_ASSERT
#define TOML_ASSERT(expr) ((void)0)
#endif
#include <toml++/toml.h>
