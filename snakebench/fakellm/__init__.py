"""The offline stand-in for LLM providers (``snakebench fake-llm``): tests, drills and
benchmarks play against it. Only the CLI imports it, for that command; nothing that
plays, stores, queues or serves games does (an import-linter contract says so)."""
