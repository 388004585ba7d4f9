"""``snakebench db``: create or upgrade the database schema."""

from __future__ import annotations

from snakebench.cli.app import App
from snakebench.cli.terminal import SafeConsole
from snakebench.config import get_settings, mask_url
from snakebench.store import connect, current_version, latest_version, upgrade_store

app = App(help="Create or upgrade the database named by DATABASE_URL.")
out = SafeConsole(soft_wrap=True)


@app.command()
def upgrade() -> None:
    """Apply every pending migration; safe to run twice (the Procfile's release step)."""
    settings = get_settings()
    db, applied = upgrade_store(settings)
    where = mask_url(settings.database_url)
    if applied:
        out.print(f"{where}: applied migrations {', '.join(map(str, applied))}")
    out.print(f"{where}: schema version {current_version(db)} (latest {latest_version()})")


@app.command()
def version() -> None:
    """Print the schema version of the database and the latest this code knows."""
    db = connect(get_settings().database_url)
    out.print(f"schema version {current_version(db)} (latest {latest_version()})")
