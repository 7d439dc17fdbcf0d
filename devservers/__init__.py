"""Local servers for the tests, the demo and the benchmarks (not part of the library).

Every server binds to 127.0.0.1 on a free port, is started as a child process,
and is stopped by the code that started it.
"""
