"""Where the project keeps its files: SQL under sql/, local state under .local/."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = PROJECT_ROOT / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
QUERIES_DIR = SQL_DIR / "queries"
AUDIENCES_DIR = SQL_DIR / "audiences"  # queries the data team owns: whom to follow
ACTIVATIONS_DIR = SQL_DIR / "activations"  # the data team's audiences sent to Webex as events
LOCAL_DIR = PROJECT_ROOT / ".local"
