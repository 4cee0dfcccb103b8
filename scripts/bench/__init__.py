"""The benchmark suite behind `make bench` (see docs/benchmarks.md): each figure against a
baseline measured in the same run, medians of several repetitions with their spread."""
