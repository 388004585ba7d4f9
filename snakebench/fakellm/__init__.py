"""The offline stand-in for LLM providers (``snakebench fake-llm``): tests, drills and
benchmarks play against it. Nothing that runs in production imports this package."""
