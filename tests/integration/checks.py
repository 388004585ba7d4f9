"""What "every game done once, nothing lost, nothing doubled" means, checked against
the database, the replay folder and Redis together.

One function for every test that ends with a finished batch, so that the 200-game
run, the PostgreSQL run and the flushed-Redis run are held to the same standard.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import cast

import peewee as pw
import redis
from rq import Queue
from rq.registry import FailedJobRegistry

from snakebench.engine.replay import read_replay
from snakebench.engine.verify import verify_replay
from snakebench.queueing import SERIALIZER, WORKER_QUEUES
from snakebench.services.batches import batch_progress
from snakebench.store import Game, Model, Participant


def assert_batch_completed(
    batch_id: str,
    count: int,
    replay_dir: Path,
    models: tuple[str, str],
    connection: redis.Redis | None = None,
) -> None:
    """The batch's ``count`` games all completed exactly once.

    Assumes a fresh database in which only this batch was played, so model counters
    can be compared with the batch's own games.
    """
    games = list(Game.select().where(Game.batch == batch_id))
    assert len(games) == count == Game.select().count()
    statuses = Counter(game.status for game in games)
    assert statuses == {"completed": count}, statuses

    # Participants: two per game, slots 0 and 1, no duplicates, results filled in.
    counted = (
        Participant.select(Participant.game, pw.fn.COUNT(Participant.id))
        .group_by(Participant.game)
        .tuples()
    )
    per_game = dict(cast(list[tuple[str, int]], list(counted)))
    assert set(per_game) == {game.id for game in games}
    assert set(per_game.values()) == {2}, Counter(per_game.values())
    assert Participant.select().count() == 2 * count
    lineup: dict[str, dict[int, Participant]] = {}
    for participant in Participant.select(Participant, Model).join(Model):
        lineup.setdefault(participant.game_id, {})[participant.slot] = participant
    assert all(set(slots) == {0, 1} for slots in lineup.values())
    for game in games:
        assert {p.model.name for p in lineup[game.id].values()} == set(models)
        assert all(p.result in ("won", "lost", "tied") for p in lineup[game.id].values())

    # Replays: one per game under its final name, no staged leftovers, all verify.
    files = sorted(path.name for path in replay_dir.iterdir())
    assert files == sorted(f"snake_game_{game.id}.json" for game in games)
    for game in games:
        path = replay_dir / f"snake_game_{game.id}.json"
        assert game.replay_path == str(path.resolve())
        replay = read_replay(path)
        assert replay.game["id"] == game.id and replay.game["status"] == "completed"
        assert replay.rounds_played == game.rounds
        assert verify_replay(replay) is None, game.id

    # Model counters: each model counted once per game, matching the participant rows.
    for name in models:
        model = Model.get(Model.name == name)
        rows = [p for slots in lineup.values() for p in slots.values() if p.model.name == name]
        results = Counter(p.result for p in rows)
        assert model.games_played == len(rows) == count
        assert (model.wins, model.losses, model.ties) == (
            results["won"],
            results["lost"],
            results["tied"],
        )
        assert model.apples_eaten == sum(p.score for p in rows)

    # Batch counters: all completed, nothing left in any other state.
    progress = batch_progress(batch_id)
    assert (progress.total, progress.completed, progress.done) == (count, count, count)
    assert progress.queued == progress.running == progress.failed == 0
    assert progress.void == progress.cancelled == 0
    assert progress.finished
    assert abs(progress.cost - sum(game.total_cost for game in games)) < 1e-9

    if connection is not None:  # no job failed on the way, and none is left waiting
        for name in WORKER_QUEUES:
            queue = Queue(name, connection=connection, serializer=SERIALIZER)
            assert queue.count == 0
            assert FailedJobRegistry(queue=queue).count == 0
