"""Ratio benchmarks of bopwatch against python-can, cantools and asammdf (``python -m benchmarks``)."""
