"""What the CLI, the web API and the workers ask for: batches (submit, cancel, retry,
reconcile, progress, budget), the placement ladder, tournaments, costs, the leaderboard
and model entries. Each is written once here and called from every entry point."""
