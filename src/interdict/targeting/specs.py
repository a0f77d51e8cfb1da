"""The targeting settings file: features, model training, lanes, capacity and alerts.

Registered with the platform's reference registry when this package is loaded, so that an
agency tunes thresholds, capacity and the exploration share in
``INTERDICT_REFERENCE_PATH/targeting/settings.yaml`` without a code change. The sections are
the engines' own settings models, so the file is validated exactly as the engines read it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from interdict.reference.specs import Meta, register_kind
from interdict.targeting.features import FeatureSettings
from interdict.targeting.lanes import LaneSettings
from interdict.targeting.model import ModelSettings


class TargetingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meta: Meta
    features: FeatureSettings = Field(default_factory=FeatureSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    lanes: LaneSettings = Field(default_factory=LaneSettings)
    drift_days: int = Field(30, ge=1, le=366, description="The recent period the drift report "
                            "compares with the model's training period.")
    valid_share: float = Field(0.2, gt=0, lt=0.5, description="When retraining from the store, "
                               "the most recent share of labelled consignments held out to "
                               "stop training and calibrate.")


register_kind("targeting_settings", TargetingSettings)
