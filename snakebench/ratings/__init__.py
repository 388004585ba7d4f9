"""Ratings: TrueSkill (upstream-compatible) and Bradley-Terry with confidence intervals."""
