"""Settings, read once from the environment (prefix ``INTERDICT_``) and passed down.

Settings are an object created by :func:`get_settings` or by a test, never a module global,
so that tests can build an app or a CLI context against any database.
"""

from __future__ import annotations

import enum
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The secret a development install starts with. Production refuses to run with it.
DEVELOPMENT_SECRET = "interdict-development-secret-do-not-use-in-production"


class Mode(enum.StrEnum):
    development = "development"
    production = "production"
    test = "test"


class Settings(BaseSettings):
    """Every setting of the platform; each is documented in docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="INTERDICT_", extra="ignore")

    mode: Mode = Field(Mode.development, description="development, production or test.")
    data_dir: Path = Field(Path("./data"), description="Where the embedded database lives.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: a SQLite file in data_dir."
    )
    secret_key: str = Field(
        DEVELOPMENT_SECRET,
        description="Server secret, reserved for signing; production refuses the default.")
    agency: str | None = Field(
        None, description="Agency code the CLI acts as; default: the only agency."
    )
    reference_path: Path | None = Field(
        None, description="Directory whose reference files override the shipped ones."
    )
    host: str = Field("127.0.0.1", description="Address `interdict serve` binds.")
    port: int = Field(8000, description="Port `interdict serve` binds.")
    forwarded_allow_ips: str = Field(
        "", description="Comma-separated proxy addresses whose X-Forwarded-For is trusted.")
    cookie_secure: bool = Field(True, description="Mark session cookies Secure.")
    session_hours: int = Field(12, description="Lifetime of a browser session.")
    max_body_bytes: int = Field(1_048_576, description="Largest request body accepted.")
    password_time_cost: int = Field(3, ge=1, description="Argon2id passes per hash.")
    password_memory_kib: int = Field(65536, ge=1024, description="Argon2id memory per hash.")
    password_parallelism: int = Field(4, ge=1, description="Argon2id lanes per hash.")
    login_max_failures: int = Field(5, description="Failed logins before throttling.")
    login_window_seconds: int = Field(900, description="Window for counting failed logins.")
    webhook_timeout_seconds: float = Field(5.0, description="Timeout per webhook delivery.")
    webhook_max_attempts: int = Field(8, description="Attempts before a delivery is dead.")
    webhook_backoff_seconds: float = Field(2.0, description="First retry delay; doubles.")
    webhook_poll_seconds: float = Field(1.0, description="How often the worker looks for work.")
    nats_url: str | None = Field(None, description="Publish alerts to NATS JetStream here.")
    nats_subject_prefix: str = Field("interdict.alerts", description="NATS subject prefix.")
    sse_poll_seconds: float = Field(1.0, description="How often SSE streams look for alerts.")
    log_json: bool = Field(False, description="Log JSON lines instead of console text.")
    demo_on_first_start: bool = Field(True, description="`serve` loads the demo if empty.")

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        # A known secret lets anyone forge sessions; only tolerable on a developer's laptop.
        if self.mode == Mode.production and self.secret_key == DEVELOPMENT_SECRET:
            raise ValueError(
                "INTERDICT_SECRET_KEY must be set to a private value in production mode"
            )
        if self.mode == Mode.production and len(self.secret_key) < 32:
            raise ValueError("INTERDICT_SECRET_KEY must be at least 32 characters")
        return self

    def apply_password_cost(self) -> None:
        """Hash new passwords with this configuration's Argon2id cost."""
        from interdict.auth.passwords import configure

        configure(time_cost=self.password_time_cost, memory_kib=self.password_memory_kib,
                  parallelism=self.password_parallelism)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'interdict.sqlite3').resolve()}"


def get_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides taking precedence."""
    return Settings(**overrides)  # type: ignore[arg-type]
