"""Sandbox settings: seed, volumes, the credentials each fake vendor accepts, whether the
vendors answer as their documents say (`documented`) or in the kinder way the sandbox used to,
and per vendor the network as a client sees it (`network`: latency, and limits per credential
answered with 429 and Retry-After)."""

import json
import secrets
from dataclasses import asdict, dataclass, field

from sandbox.faults import FaultSettings


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
class SenderGuideSandbox:
    api_key: str = "sandbox-senderguide-api-key"
    message_ids: list[str] = field(default_factory=lambda: ["48213", "48214", "50377"])
    # IANA zone of the account: fromDate/toDate and the naive timestamps are local to it.
    timezone: str = "America/New_York"
    # Sends per message id per local day before the per-day variation.
    daily_sends: int = 300
    # 0 makes every day's send count exactly daily_sends.
    volume_jitter: float = 0.3
    # Each interaction type's daily count as a fraction of the day's sends.
    open_rate: float = 0.25
    click_rate: float = 0.05
    bounce_rate: float = 0.02
    unsubscribe_rate: float = 0.005


@dataclass
class CinnoxSandbox:
    app_id: str = "sandbox-cinnox-app"
    app_token: str = "sandbox-cinnox-app-token"
    # Sent campaigns per UTC day (0.5x to 1.5x of it, day by day).
    campaigns_per_day: int = 3
    # Recipients per campaign, log-uniform between the two.
    min_recipients: int = 20
    max_recipients: int = 2000
    whatsapp_share: float = 0.4
    max_limit: int = 100
    # Longest startAt..endAt span the summary accepts (error 6451000 beyond it).
    max_range_days: int = 31


@dataclass
class WebexSandbox:
    api_key: str = "sandbox-webex-api-key"
    # The customer keys a pipeline asks for: MSISDNs, emails and app device ids. Any other key
    # gets its own deterministic history too, as a real tenant would answer for any customer.
    # MSISDNs carry their country code without '+'; "6591234567" is Singapore (+65 9123 4567),
    # whose ten digits would also pass for a North-American number read nationally.
    keys: list[str] = field(default_factory=lambda: [
        "919812345670", "919833012345", "447700900123", "6591234567", "asha.kulkarni@example.in",
        "Rohan.Mehta@Example.com", "app-7f3a9c21e4b04d8f", "919900000001",
        "busy.shopper@example.com",
    ])
    # Keys with more than 50 transactions a day, so clients must split windows and detect
    # truncation (also listed in `keys` so that the pipeline asks for them).
    busy_keys: list[str] = field(default_factory=lambda: ["919900000001", "busy.shopper@example.com"])
    # IANA zone of the tenant server: from-date/to-date and deployment-date are local to it.
    timezone: str = "Asia/Kolkata"
    # Ordinary keys have 0..max_daily_transactions a day; busy keys about busy_daily_transactions.
    max_daily_transactions: int = 5
    busy_daily_transactions: int = 80
    # Share of keys (chosen by hash) whose answer is {"transactions": [...]} not a bare array.
    wrapped_response_share: float = 0.3
    # HTTP status of event API errors: 200 or 500 depending on the tenant's configuration.
    event_error_http_status: int = 200
    # Event id -> the deployment its accepted events show under in the transactions API;
    # other event ids get a deterministic one (990000-990999).
    event_deployments: dict[str, str] = field(
        default_factory=lambda: {"evt_sms_failure_fallback": "990001"})
    # For tests of a client's error handling: key (as keys compare) -> the answers to that
    # key's successive valid events: "accept" (also once the list is used up), "lost" (accepted
    # and recorded, then the connection closes unanswered) or an error code such as "429",
    # "499", "500", "502", "1001", "1002", "1003", "430" (answered, not recorded).
    event_script: dict[str, list[str]] = field(default_factory=dict)
    # Share of transactions the vendor reports late: each such one appears in the API only
    # some time (up to max_late_hours) after its deployment-date, as real reporting lags.
    late_share: float = 0.0
    max_late_hours: float = 48.0
    # Shares of all other keys (chosen by hash) that never have a transaction, and that are
    # busy like busy_keys: a large tenant's customers are mostly quiet, a few very busy.
    quiet_share: float = 0.0
    busy_share: float = 0.0


@dataclass
class VendorNetwork:
    """How one vendor answers over the network. The defaults are today's local sandbox: at
    once, without limits."""

    # Fixed delay before each answer, plus a random part uniform in [0, jitter_ms), decided
    # from the seed, the vendor, the request and how many times it was seen (deterministic).
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    # Per credential: requests being answered at once (0 = no limit).
    max_concurrent: int = 0
    # Per credential: requests accepted in any sliding 1-second window (0 = no limit). Below
    # 1, or fractional, it is n = max(1, floor(rate)) requests in any n / rate seconds.
    max_per_second: float = 0.0
    # True: each distinct answer (same request, credential, generation and day) is made once
    # and then replayed. A remote vendor makes its pages within its latency, on its own
    # machines; a sandbox on this machine would otherwise take a CPU share from the pipeline
    # it serves (a quarter of the machine at 200,000 mGage messages). For benchmarks, which
    # walk once to warm it; refused with faults, whose answers differ from one attempt to the
    # next.
    replay_answers: bool = False


@dataclass
class SandboxConfig:
    seed: int = 20261123
    # True: every vendor answers as its document says, harsh where the document is: mGage's
    # nextPageUrl carries only `page` (as in the document's example) and a request without
    # filters gets the documented defaults (both types, a year back to now, 50 a page);
    # SenderGuide `toDate` and Webex `to-date` are exclusive upper bounds; CINNOX WhatsApp
    # recipients are international numbers without '+' and their rows carry no
    # recipientCountry. False: the kinder answers the sandbox gave before (next URLs repeat
    # every filter, inclusive upper bounds, recipientCountry on every row, '+' sometimes).
    documented: bool = True
    mgage: MgageSandbox = field(default_factory=MgageSandbox)
    senderguide: SenderGuideSandbox = field(default_factory=SenderGuideSandbox)
    cinnox: CinnoxSandbox = field(default_factory=CinnoxSandbox)
    webex: WebexSandbox = field(default_factory=WebexSandbox)
    faults: FaultSettings = field(default_factory=FaultSettings)
    # Vendor name ("mgage", "senderguide", "cinnox", "webex") -> its latency and limits;
    # unlisted vendors answer at once without limits.
    network: dict[str, VendorNetwork] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "SandboxConfig":
        values = json.loads(text)
        return cls(seed=values["seed"], documented=values.get("documented", True),
                   mgage=MgageSandbox(**values["mgage"]),
                   senderguide=SenderGuideSandbox(**values.get("senderguide", {})),
                   cinnox=CinnoxSandbox(**values.get("cinnox", {})),
                   webex=WebexSandbox(**values.get("webex", {})),
                   faults=FaultSettings(**values.get("faults", {})),
                   network={vendor: VendorNetwork(**settings)
                            for vendor, settings in values.get("network", {}).items()})

    @classmethod
    def with_random_credentials(cls, **overrides) -> "SandboxConfig":
        """A config whose credentials are fresh random secrets (what `make run` uses)."""
        config = cls(**overrides)
        config.mgage.username = f"mgage-{secrets.token_hex(4)}"
        config.mgage.password = secrets.token_urlsafe(18)
        config.senderguide.api_key = secrets.token_urlsafe(24)
        config.cinnox.app_token = secrets.token_urlsafe(32)
        config.webex.api_key = secrets.token_urlsafe(32)
        return config
