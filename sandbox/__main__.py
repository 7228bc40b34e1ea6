"""`python -m sandbox`: serve the fake vendors on 127.0.0.1; config JSON in $SANDBOX_CONFIG.

Prints `SANDBOX_URL=<base url>` once listening, so a parent process can wait for it."""

import os
import sys

from sandbox.config import SandboxConfig
from sandbox.server import serve_forever


def main() -> None:
    text = os.environ.get("SANDBOX_CONFIG")
    config = SandboxConfig.from_json(text) if text else SandboxConfig()
    port = int(os.environ.get("SANDBOX_PORT", "0"))

    def ready(url: str) -> None:
        print(f"SANDBOX_URL={url}", flush=True)

    try:
        serve_forever(config, port=port, on_ready=ready)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
