"""The JSON forms of consignments, selections, inspections, rule profiles and models.

A consignment is posted as one of five kinds, told apart by ``kind``. Each kind has its own
fields (an aircraft's registration and passengers, a vessel's crew) and maps onto the common
columns the engines score (``frames.CONSIGNMENT``) by ``to_row``: the consignee of a parcel
and the operator of an aircraft are both the "importer", the sender the "seller", the pilot
or skipper the "declarant". What maps nowhere is kept in ``details``.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

_HS = re.compile(r"^\d{6}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _country(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    code = value.upper()
    if len(code) != 2 or not code.isalpha():
        raise ValueError("must be an ISO 3166 alpha-2 country code such as NL")
    return code


def _hs(value: str | None) -> str | None:
    """HS codes arrive as "293971", "2939.71" or a longer national code: keep the HS6."""
    if value is None or value == "":
        return None
    digits = value.replace(".", "").replace(" ", "")
    if not digits.isdigit() or len(digits) < 6:
        raise ValueError("must be an HS code of at least 6 digits, such as 293971 or 2939.71")
    return digits[:6]


Country = Annotated[str, Field(min_length=2, max_length=2, description="ISO 3166 alpha-2.")]
Ident = Annotated[str, Field(min_length=1, max_length=64)]


class _Common(Strict):
    reference: Ident = Field(description="Declaration ID, waybill, flight or report number.")
    declared_at: AwareDatetime = Field(description="When it was declared, with a UTC offset.")
    office: str | None = Field(None, max_length=32, description="Customs office code.")
    departure_country: str | None = None
    origin_country: str | None = None
    route: list[str] = Field(default_factory=list, max_length=30,
                             description="Countries passed through, in order.")

    @field_validator("departure_country", "origin_country")
    @classmethod
    def _countries(cls, value: str | None) -> str | None:
        return _country(value)

    @field_validator("route")
    @classmethod
    def _route(cls, value: list[str]) -> list[str]:
        return [c for c in (_country(v) for v in value) if c is not None]


class _Goods(_Common):
    hs_code: str | None = Field(None, description="HS code (6 digits kept).")
    net_mass_kg: float | None = Field(None, ge=0)
    value: float | None = Field(None, ge=0, description="Declared value (Item Price).")

    @field_validator("hs_code")
    @classmethod
    def _hs_code(cls, value: str | None) -> str | None:
        return _hs(value)


class DeclarationIn(_Goods):
    """A customs import or export declaration (one item line)."""

    kind: Literal["declaration"] = "declaration"
    office: str = Field(min_length=1, max_length=32)
    declarant: Ident
    importer: Ident
    seller: str | None = Field(None, max_length=64)
    courier: str | None = Field(None, max_length=64)
    hs_code: str = Field(description="HS code (6 digits kept).")
    departure_country: str
    origin_country: str
    net_mass_kg: float = Field(ge=0)
    value: float = Field(ge=0)
    process_type: str | None = Field(None, max_length=16)
    import_type: str | None = Field(None, max_length=16)
    import_use: str | None = Field(None, max_length=16)
    payment_type: str | None = Field(None, max_length=16)
    transport_mode: str | None = Field(None, max_length=16)
    tax_rate: float | None = Field(None, ge=0, le=1000)
    tax_type: str | None = Field(None, max_length=16)
    origin_indicator: str | None = Field(None, max_length=8)
    fraud: Literal[0, 1] | None = Field(None, description="Known outcome (history imports).")
    critical: Literal[0, 1, 2] | None = Field(None, description="0, 1, or 2 = critical.")

    @model_validator(mode="after")
    def _labels(self) -> DeclarationIn:
        if self.fraud == 0 and self.critical not in (None, 0):
            raise ValueError("critical: must be 0 when fraud is 0")
        if self.fraud is None and self.critical is not None:
            raise ValueError("critical: given without fraud")
        return self


class ParcelIn(_Goods):
    """An express-courier or postal item."""

    kind: Literal["express", "postal"]
    sender: str | None = Field(None, max_length=64)
    recipient: Ident
    courier: str | None = Field(None, max_length=64)
    description: str = Field("", max_length=500)


class AviationIn(_Common):
    """A private or general-aviation flight report (arrival)."""

    kind: Literal["aviation"]
    aircraft_registration: Ident
    operator: Ident
    pilot: Ident
    passengers: list[str] = Field(default_factory=list, max_length=50)
    departure_airport: str = Field(min_length=3, max_length=4, description="IATA or ICAO.")
    arrival_airport: str = Field(min_length=3, max_length=4)
    departure_country: str
    planned_departure: AwareDatetime | None = None
    actual_departure: AwareDatetime | None = None
    planned_arrival: AwareDatetime | None = None
    actual_arrival: AwareDatetime | None = None
    arrived_at_departure: AwareDatetime | None = Field(
        None, description="When the aircraft had arrived at the departure airport: with the "
        "actual departure, gives the stay there.")

    @model_validator(mode="after")
    def _times(self) -> AviationIn:
        if (self.arrived_at_departure and self.actual_departure
                and self.actual_departure < self.arrived_at_departure):
            raise ValueError("actual_departure: before arrived_at_departure")
        return self


class CraftIn(_Common):
    """A pleasure-craft (yacht) arrival report."""

    kind: Literal["craft"]
    vessel_name: Ident
    vessel_id: str | None = Field(None, max_length=32, description="MMSI, IMO or hull number.")
    flag: str | None = None
    skipper: Ident
    owner: str | None = Field(None, max_length=64)
    crew: list[str] = Field(default_factory=list, max_length=50)
    departure_port: str = Field(min_length=1, max_length=64)
    departure_country: str
    departed_at: AwareDatetime | None = None
    arrived_at_departure: AwareDatetime | None = Field(
        None, description="When the craft had arrived at the departure port.")

    @field_validator("flag")
    @classmethod
    def _flag(cls, value: str | None) -> str | None:
        return _country(value)


ConsignmentIn = Annotated[DeclarationIn | ParcelIn | AviationIn | CraftIn,
                          Field(discriminator="kind")]


def _hours(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 3600, 3)


def to_row(item: DeclarationIn | ParcelIn | AviationIn | CraftIn) -> tuple[dict[str, Any],
                                                                          dict[str, Any]]:
    """The engines' row (``frames.CONSIGNMENT`` keys) and the kind's other fields."""
    row: dict[str, Any] = {
        "kind": item.kind, "reference": item.reference,
        "declared_at": item.declared_at.astimezone(dt.UTC), "office": item.office,
        "process_type": None, "import_type": None, "import_use": None, "payment_type": None,
        "transport_mode": None, "declarant": None, "importer": None, "seller": None,
        "courier": None, "hs_code": None, "departure_country": item.departure_country,
        "origin_country": item.origin_country, "tax_rate": None, "tax_type": None,
        "origin_indicator": None, "net_mass_kg": None, "value": None, "stay_hours": None,
        "fraud": None, "critical": None,
    }
    details: dict[str, Any] = {}
    if isinstance(item, DeclarationIn):
        for name in ("process_type", "import_type", "import_use", "payment_type",
                     "transport_mode", "declarant", "importer", "seller", "courier", "hs_code",
                     "tax_rate", "tax_type", "origin_indicator", "net_mass_kg", "value",
                     "fraud", "critical"):
            row[name] = getattr(item, name)
    elif isinstance(item, ParcelIn):
        row.update(importer=item.recipient, seller=item.sender, courier=item.courier,
                   hs_code=item.hs_code, net_mass_kg=item.net_mass_kg, value=item.value,
                   transport_mode="40" if item.kind == "express" else None)
        details = {"description": item.description}
    elif isinstance(item, AviationIn):
        row.update(importer=item.operator, declarant=item.pilot, transport_mode="40",
                   stay_hours=_hours(item.arrived_at_departure, item.actual_departure))
        details = item.model_dump(mode="json", include={
            "aircraft_registration", "passengers", "departure_airport", "arrival_airport",
            "planned_departure", "actual_departure", "planned_arrival", "actual_arrival",
            "arrived_at_departure"})
        details["operator"], details["pilot"] = item.operator, item.pilot
    else:
        row.update(importer=item.owner or item.vessel_name, declarant=item.skipper,
                   transport_mode="10",
                   stay_hours=_hours(item.arrived_at_departure, item.departed_at))
        details = item.model_dump(mode="json", include={
            "vessel_name", "vessel_id", "flag", "crew", "departure_port", "departed_at",
            "arrived_at_departure"})
        details["skipper"], details["owner"] = item.skipper, item.owner
    route = list(item.route)
    if item.departure_country and (not route or route[0] != item.departure_country):
        route.insert(0, item.departure_country)
    row["route"] = route
    return row, details


class InspectionResult(enum.StrEnum):
    seized = "seized"                      # drugs, precursors or other goods seized
    documentary_fraud = "documentary_fraud"  # misdeclared value, origin, description
    nothing_found = "nothing_found"


class InspectionIn(Strict):
    result: InspectionResult
    critical: bool = Field(False, description="A critical finding: drugs, precursors, "
                           "weapons, a threat to public safety.")
    substance: str = Field("", max_length=200, description="What was seized.")
    quantity_kg: float | None = Field(None, ge=0)
    notes: str = Field("", max_length=5000)
    inspected_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> InspectionIn:
        if self.result == InspectionResult.nothing_found and (self.critical or self.substance
                                                              or self.quantity_kg):
            raise ValueError("result: nothing_found cannot carry a seizure or critical finding")
        if self.result == InspectionResult.seized and not self.substance:
            raise ValueError("substance: say what was seized")
        return self


class RuleSetIn(Strict):
    text: str = Field(min_length=1, max_length=500_000, description="The rule file (YAML).")
    note: str = Field("", max_length=500)

