"""Sandbox settings: seed, volumes and the credentials each fake vendor accepts."""

import json
import secrets
from dataclasses import asdict, dataclass, field


@dataclass
class MgageSandbox:
    username: str = "sandbox-mgage-user"
    password: str = "sandbox-mgage-password"
    program_ids: list[str] = field(default_factory=lambda: ["121811", "121812", "130400"])
    # MT messages per program per day before the per-day variation; MO is a fraction of it.
    daily_messages: int = 400
    mo_ratio: float = 0.1
    # 0 makes every day's MT count exactly daily_messages (benchmarks rely on that).
    volume_jitter: float = 0.3


@dataclass
class SandboxConfig:
    seed: int = 20261123
    mgage: MgageSandbox = field(default_factory=MgageSandbox)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "SandboxConfig":
        values = json.loads(text)
        return cls(seed=values["seed"], mgage=MgageSandbox(**values["mgage"]))

    @classmethod
    def with_random_credentials(cls, **overrides) -> "SandboxConfig":
        """A config whose credentials are fresh random secrets (what `make run` uses)."""
        config = cls(**overrides)
        config.mgage.username = f"mgage-{secrets.token_hex(4)}"
        config.mgage.password = secrets.token_urlsafe(18)
        return config
