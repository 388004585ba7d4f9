"""Plumbing for tests, drills and benchmarks that drive a real Redis and real ``rq
worker`` processes. Nothing that runs in production imports this package."""
