"""SnakeBench: language models play two-player Snake; games run as RQ jobs."""

__version__ = "0.1.0"
