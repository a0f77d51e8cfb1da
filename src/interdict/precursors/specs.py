"""Reference-file specs for the precursor register: densities and the checks' settings.

Registered with the platform's reference registry when this package is loaded. Thresholds,
weights and country lists are data, so that an authority tunes them without a code change
(``INTERDICT_REFERENCE_PATH``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from interdict.reference.specs import Meta, register_kind

CATEGORIES = ("1", "2A", "2B", "3", "4")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Density(Strict):
    substance: str = Field(min_length=1, description="Name as the substance lists spell it.")
    g_per_ml: float = Field(gt=0, lt=25)
    note: str = ""


class Densities(Strict):
    """Densities of liquid precursors, to convert litres and millilitres into kilograms."""

    meta: Meta
    entries: list[Density] = Field(min_length=1)


class Matching(Strict):
    window_hours: float = Field(gt=0, description="How far apart a sale and the buyer's "
                                "purchase may be, and how long to wait for the purchase.")
    quantity_tolerance_rel: float = Field(ge=0, lt=1)
    quantity_tolerance_kg: float = Field(ge=0)


class Stock(Strict):
    tolerance_kg: float = Field(ge=0)
    tolerance_rel: float = Field(ge=0, lt=1)


class Suspicious(Strict):
    threshold: float = Field(gt=0, le=1, description="Score from which an order is reported.")
    weights: dict[str, float]
    history_factor: float = Field(gt=1, description="'Far above' = more than this many times "
                                  "the customer's mean earlier order of the substance.")
    min_history: int = Field(ge=1, description="Earlier orders needed to judge the quantity.")
    high_risk_countries: list[str]
    sector_end_uses: dict[str, list[str]] = Field(
        description="End uses plausible for a customer's sector; others are inconsistent.")

    @field_validator("weights")
    @classmethod
    def _known(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(SUSPICIOUS_RULES)
        missing = set(SUSPICIOUS_RULES) - set(value)
        if unknown or missing:
            raise ValueError(f"weights: unknown {sorted(unknown)}, missing {sorted(missing)}")
        return value

    @field_validator("high_risk_countries")
    @classmethod
    def _countries(cls, value: list[str]) -> list[str]:
        bad = [c for c in value if len(c) != 2 or not c.isupper()]
        if bad:
            raise ValueError(f"not ISO 3166 alpha-2 codes: {bad}")
        return value


class Exports(Strict):
    authorisation_categories: list[str] = Field(
        description="Categories whose export always needs an export authorisation.")
    category3_destinations: list[str] = Field(
        description="Destinations for which a category 3 export needs one too.")
    notification_categories: list[str] = Field(
        description="Categories whose export needs a pre-export notification everywhere.")
    notification_destinations: list[str] = Field(
        description="Destinations that asked for notification of every listed export.")
    notification_working_days: int = Field(ge=0, description="Days (Mon-Fri) the importing "
                                           "authority has to answer before shipment.")

    @model_validator(mode="after")
    def _categories(self) -> Exports:
        for name in ("authorisation_categories", "notification_categories"):
            bad = [c for c in getattr(self, name) if c not in CATEGORIES]
            if bad:
                raise ValueError(f"{name}: {bad} are not categories {list(CATEGORIES)}")
        return self


class CheckSettings(Strict):
    meta: Meta
    late_after_hours: float = Field(gt=0)
    counterparty_licence_categories: list[str] = Field(
        description="Categories for which both sides of a domestic transfer need a licence or "
                    "registration.")
    matching: Matching
    stock: Stock
    suspicious: Suspicious
    exports: Exports


SUSPICIOUS_RULES = (
    "quantity_above_history", "new_customer_category1", "cash_payment", "crypto_payment",
    "high_risk_destination", "high_risk_transit", "end_use_inconsistent",
    "designer_precursor", "watch_list",
)


register_kind("precursor_densities", Densities)
register_kind("precursor_checks", CheckSettings)
