"""Interdict's benchmarks: measurements of the running product, printed as JSON lines.

Run them with ``python -m benchmarks.run [names...] [--quick]`` from the repository root;
README.md beside this file describes each benchmark and the line format. The package lives
outside ``src/`` because it measures the installed product rather than being part of it.
"""
