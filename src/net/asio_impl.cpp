// net/asio_impl.cpp — the one translation unit that compiles Asio and Asio SSL
// (ASIO_SEPARATE_COMPILATION keeps them out of every other object file).
#include <asio/impl/src.hpp>
#include <asio/ssl/impl/src.hpp>
