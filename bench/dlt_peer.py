"""The bench's peer for mGage: dlt's own `rest_api` source loading one program's UTC day into
Postgres, run by the dlt venv's python (bench/dlt_env.py), so stdlib and dlt only: nothing of
the repo's packages.

    python bench/dlt_peer.py --base-url URL --username U --program-id ID --day YYYY-MM-DD \\
        --dataset NAME [--page-size 500] [--pipelines-dir DIR]

The password and the database URL come from --password / --database-url or, better (a command
line is visible to `ps`), from MGAGE_PASSWORD / DLT_DATABASE_URL. Prints one JSON line:
records (rows in the table, read back), seconds (wall time of pipeline.run), peak_rss_mb
(this process), dlt_version.

As the product does: both message types (MT, then MO) of the day, `startDate` and `endDate` at
the two midnights, paged by `meta.nextPageUrl`, records at `data.messages`. What dlt lacks out
of the box is kept in two small pieces: `KeepFiltersPaginator` (mGage's documented next URL is
`…/program/ID?page=N`, without the request's filters) and a filter that leaves the next day's
midnight message (the vendor's endDate is inclusive) to that day, as the product's loader does.
The load is dlt's defaults otherwise: write_disposition="append" into a fresh dataset."""

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

# Before dlt is imported: no telemetry, and no log lines beyond warnings.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")

import dlt
from dlt.sources import DltSource
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator
from dlt.sources.rest_api import rest_api_source
from dlt.sources.rest_api.typing import EndpointResource
from requests import Response

DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
TABLE = "mgage_messages"


def keep_filters(next_url: str, asked: dict[str, str]) -> str:
    """`next_url` with each of the first request's parameters it omits added back; the ones it
    names itself (`page`) kept as given. A changed filter would read another window: an error,
    as in the product (pipelines/transport/paging.py)."""
    parts = urlsplit(next_url)
    given = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name, value in asked.items():
        if name in given and name != "page" and given[name] != value:
            raise ValueError(f"next page URL changes the request's {name!r} parameter")
    merged = {name: value for name, value in asked.items() if name not in given} | given
    return urlunsplit(parts._replace(query=urlencode(merged)))


def socket_url(database_url: str) -> str:
    """`database_url` as dlt takes it: dlt requires a host in the URL's authority, and a URL
    to a Unix socket (the embedded server's) names it only in the query (`?host=/dir`). libpq
    reads a query's `host` over the authority's, so a placeholder host there changes nothing."""
    parts = urlsplit(database_url)
    if parts.hostname or "host" not in dict(parse_qsl(parts.query)):
        return database_url
    userinfo = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@localhost" if userinfo else "localhost"))


class KeepFiltersPaginator(JSONLinkPaginator):
    """dlt's JSONLinkPaginator follows `meta.nextPageUrl` as given (a relative one joined to the
    page that named it) and drops the request's parameters: this one adds them back. It also
    stops on mGage's errors, which come in meta.generalErrors under HTTP 200."""

    def __init__(self) -> None:
        super().__init__(next_url_path="meta.nextPageUrl")
        self.asked: dict[str, str] = {}

    def init_request(self, request: Any) -> None:
        self.asked = {name: str(value) for name, value in (request.params or {}).items()}
        super().init_request(request)

    def update_state(self, response: Response, data: Any = None) -> None:
        meta = response.json().get("meta") or {}
        if meta.get("generalErrors"):
            raise RuntimeError(f"mGage generalErrors: {meta['generalErrors']}")
        following = meta.get("nextPageUrl")
        self._next_reference = keep_filters(urljoin(response.url, following), self.asked) if following else None


def mgage_source(args: argparse.Namespace, password: str) -> DltSource:
    """dlt's rest_api source: one resource per message type, both into one table."""
    day = date.fromisoformat(args.day)
    bounds = {"startDate": day.strftime(DATE_FORMAT), "endDate": (day + timedelta(days=1)).strftime(DATE_FORMAT)}
    on_day = args.day  # messages' `date` is GMT, "YYYY-MM-DDTHH:MM:SS.ff"

    def resource(message_type: str) -> EndpointResource:
        return {
            "name": f"mgage_{message_type.lower()}",
            "table_name": TABLE,
            "write_disposition": "append",
            "endpoint": {
                "path": f"api/messages/program/{args.program_id}",
                "params": {"messageType": message_type, **bounds, "pageSize": args.page_size},
                "data_selector": "data.messages",
                "paginator": KeepFiltersPaginator(),
            },
            "processing_steps": [{"filter": lambda message: str(message.get("date", "")).startswith(on_day)}],
        }

    return rest_api_source({
        "client": {"base_url": args.base_url.rstrip("/") + "/",
                   "auth": {"type": "http_basic", "username": args.username, "password": password}},
        "resources": [resource("MT"), resource("MO")],
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", default=os.environ.get("MGAGE_PASSWORD"))
    parser.add_argument("--program-id", required=True)
    parser.add_argument("--day", required=True, help="UTC day, YYYY-MM-DD")
    parser.add_argument("--database-url", default=os.environ.get("DLT_DATABASE_URL"))
    parser.add_argument("--dataset", required=True, help="Postgres schema dlt creates and loads")
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--pipelines-dir", help="dlt's working folder (default: a temporary one)")
    args = parser.parse_args()
    if not args.password or not args.database_url:
        parser.error("give --password and --database-url, or MGAGE_PASSWORD and DLT_DATABASE_URL")

    with tempfile.TemporaryDirectory(prefix="dlt-peer-") as scratch:
        pipelines_dir = args.pipelines_dir or scratch
        os.environ["DLT_DATA_DIR"] = pipelines_dir  # not ~/.dlt
        pipeline = dlt.pipeline(pipeline_name="bench_mgage", pipelines_dir=pipelines_dir,
                                destination=dlt.destinations.postgres(credentials=socket_url(args.database_url)),
                                dataset_name=args.dataset)
        source = mgage_source(args, args.password)
        started = time.perf_counter()
        pipeline.run(source)
        seconds = time.perf_counter() - started
        with pipeline.sql_client() as client:
            rows = client.execute_sql(f"SELECT count(*) FROM {client.make_qualified_table_name(TABLE)}") or [[0]]
    json.dump({"records": int(rows[0][0]), "seconds": seconds,
               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "dlt_version": dlt.__version__}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
