#include <gtest/gtest.h>
#include "reader/digits.h"
TEST(Digits, Placeholder) {}
