"""Players: the protocol, the built-in bots and the LLM player."""

from snakebench.players.base import InfrastructureError, MoveDecision, Player, Turn
from snakebench.players.bots import BOT_NAMES, GreedyBot, RandomBot, SurvivorBot, make_bot

__all__ = [
    "BOT_NAMES",
    "GreedyBot",
    "InfrastructureError",
    "MoveDecision",
    "Player",
    "RandomBot",
    "SurvivorBot",
    "Turn",
    "make_bot",
]
