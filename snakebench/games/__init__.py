"""Running one game: the loop that asks players and steps the engine, a stored game from
its row to its replay file, live boards, the spend meter, and players made from stored
models. Above the store; below the queue, which only hands these functions ids."""
