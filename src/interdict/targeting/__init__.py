"""Risk-based targeting: consignments scored on arrival by rule profiles and a learned model,
lanes selected under inspection capacity, real-time alerts, and learning from outcomes."""
