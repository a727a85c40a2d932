//! No code: this crate only holds the native-language test suites in `tests/` (C, C++, C#
//! under Mono), which compile programs against `include/foil.h` / `include/foil.hpp` and the
//! built `libfoil`, and run them against a real `foil-server` on loopback.
